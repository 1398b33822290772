"""The SAP² model: pooling, configuration, Qwen2-Audio model, processor, prompts, LoRA.

- :mod:`sap2.model.pooling`: :func:`sap_pool` and its module wrapper;
- :mod:`sap2.model.configuration_sap2`: :class:`Sap2Config`;
- :mod:`sap2.model.modeling_sap2`: :class:`Sap2ForConditionalGeneration`;
- :mod:`sap2.model.processor`, :mod:`sap2.model.prompts`: inputs, prompts and targets;
- :mod:`sap2.model.loading`: loading a local checkpoint folder;
- :mod:`sap2.model.lora`: peft LoRA training, saving and merging;
- :mod:`sap2.model.tiny`: a small random checkpoint folder for tests and the CPU recipe.
"""
