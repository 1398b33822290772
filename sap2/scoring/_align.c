/*
 * Word-level edit-distance alignment and biased/unbiased error counting.
 *
 * The inner loop of sap2-score, in C because the scoring protocols need the full
 * back-trace of every utterance, not just its distance.  See sap2/scoring/align.py for
 * the documented Python interface.
 *
 * align(ref, hyp, biased, sub_cost, ins_cost, del_cost, order) -> (ops, counts)
 *   ref, hyp: lists of str (words).
 *   biased:   a set or frozenset of str: the biased words of this utterance.
 *   order:    3 characters naming the order in which the predecessors of a cell are
 *             tried: 'M' diagonal (match or substitution), 'I' insertion (i, j-1),
 *             'D' deletion (i-1, j).  The first move tried sets the best; a later one
 *             replaces it only if strictly cheaper.  A match costs 0.
 *   ops:      bytes, one per aligned pair in reading order: 'C' correct, 'S'
 *             substitution, 'I' insertion, 'D' deletion.
 *   counts:   (u_ref, u_sub, u_ins, u_del, b_ref, b_sub, b_ins, b_del).  A reference
 *             word (C, S, D) counts as biased if it is in `biased`; an inserted
 *             hypothesis word likewise by its own spelling.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

typedef struct {
    PyObject *fast;    /* PySequence_Fast of the input list */
    PyObject **words;  /* borrowed from fast */
    Py_hash_t *hashes; /* hash of each word, compared before the strings */
    char *biased;      /* 1 where the word is in the biased set */
    Py_ssize_t len;
} Words;

static void words_free(Words *w) {
    Py_XDECREF(w->fast);
    free(w->hashes);
    free(w->biased);
}

static int words_read(PyObject *seq, PyObject *biased, const char *name, Words *w) {
    w->fast = PySequence_Fast(seq, "align: ref and hyp must be sequences of str");
    if (w->fast == NULL) return -1;
    w->len = PySequence_Fast_GET_SIZE(w->fast);
    w->words = PySequence_Fast_ITEMS(w->fast);
    size_t size = (size_t)(w->len > 0 ? w->len : 1);
    w->hashes = (Py_hash_t *)malloc(sizeof(Py_hash_t) * size);
    w->biased = (char *)malloc(size);
    if (w->hashes == NULL || w->biased == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < w->len; k++) {
        PyObject *word = w->words[k];
        if (!PyUnicode_Check(word)) {
            PyErr_Format(PyExc_TypeError, "align: %s[%zd] is not a str", name, k);
            return -1;
        }
        w->hashes[k] = PyObject_Hash(word);
        int in_set = PySet_Contains(biased, word);
        if (w->hashes[k] == -1 || in_set < 0) return -1;
        w->biased[k] = (char)in_set;
    }
    return 0;
}

static inline int same_word(const Words *ref, Py_ssize_t i, const Words *hyp, Py_ssize_t j) {
    if (ref->hashes[i] != hyp->hashes[j]) return 0;
    PyObject *a = ref->words[i], *b = hyp->words[j];
    return a == b || PyUnicode_Compare(a, b) == 0;
}

static PyObject *align(PyObject *self, PyObject *args) {
    PyObject *ref_obj, *hyp_obj, *biased;
    long sub_cost, ins_cost, del_cost;
    const char *order;
    Py_ssize_t order_len;
    if (!PyArg_ParseTuple(args, "OOOllls#", &ref_obj, &hyp_obj, &biased, &sub_cost,
                          &ins_cost, &del_cost, &order, &order_len))
        return NULL;
    if (!PyAnySet_Check(biased)) {
        PyErr_SetString(PyExc_TypeError, "align: biased must be a set or frozenset");
        return NULL;
    }
    if (order_len != 3) {
        PyErr_SetString(PyExc_ValueError, "align: order must have 3 characters");
        return NULL;
    }
    for (int k = 0; k < 3; k++) {
        if (order[k] != 'M' && order[k] != 'I' && order[k] != 'D') {
            PyErr_SetString(PyExc_ValueError, "align: order may only hold 'M', 'I', 'D'");
            return NULL;
        }
    }

    Words ref = {0}, hyp = {0};
    long *cost = NULL;
    char *back = NULL, *ops = NULL;
    PyObject *result = NULL;
    if (words_read(ref_obj, biased, "ref", &ref) < 0) goto done;
    if (words_read(hyp_obj, biased, "hyp", &hyp) < 0) goto done;

    const Py_ssize_t n = ref.len, m = hyp.len, width = m + 1;
    const size_t cells = (size_t)(n + 1) * (size_t)width;
    cost = (long *)malloc(sizeof(long) * cells);
    back = (char *)malloc(cells);
    ops = (char *)malloc((size_t)(n + m + 1));
    if (cost == NULL || back == NULL || ops == NULL) {
        PyErr_NoMemory();
        goto done;
    }

    /* Borders: row 0 is reached by insertions, column 0 by deletions. */
    cost[0] = 0;
    back[0] = 0;
    for (Py_ssize_t j = 1; j <= m; j++) {
        cost[j] = cost[j - 1] + ins_cost;
        back[j] = 'I';
    }
    for (Py_ssize_t i = 1; i <= n; i++) {
        cost[i * width] = cost[(i - 1) * width] + del_cost;
        back[i * width] = 'D';
    }

    /* The moves in the order they are tried, as indices into the candidates below. */
    int tried[3];
    for (int k = 0; k < 3; k++) tried[k] = order[k] == 'M' ? 0 : order[k] == 'I' ? 1 : 2;
    static const char move_of[3] = {'M', 'I', 'D'};
    for (Py_ssize_t i = 1; i <= n; i++) {
        long *row = cost + i * width;
        const long *prev = cost + (i - 1) * width;
        char *brow = back + i * width;
        for (Py_ssize_t j = 1; j <= m; j++) {
            long candidate[3];
            candidate[0] = prev[j - 1] + (same_word(&ref, i - 1, &hyp, j - 1) ? 0 : sub_cost);
            candidate[1] = row[j - 1] + ins_cost;
            candidate[2] = prev[j] + del_cost;
            int best = tried[0];
            if (candidate[tried[1]] < candidate[best]) best = tried[1];
            if (candidate[tried[2]] < candidate[best]) best = tried[2];
            row[j] = candidate[best];
            brow[j] = move_of[best];
        }
    }

    /* Walk back from (n, m), writing ops from the end of the buffer and counting. */
    long u[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0}; /* ref words, subs, ins, dels */
    Py_ssize_t pos = n + m, i = n, j = m;
    while (i > 0 || j > 0) {
        char move = back[i * width + j];
        long *part;
        if (move == 'M') {
            part = ref.biased[i - 1] ? b : u;
            part[0]++;
            if (same_word(&ref, i - 1, &hyp, j - 1)) {
                ops[--pos] = 'C';
            } else {
                ops[--pos] = 'S';
                part[1]++;
            }
            i--;
            j--;
        } else if (move == 'I') {
            part = hyp.biased[j - 1] ? b : u;
            part[2]++;
            ops[--pos] = 'I';
            j--;
        } else {
            part = ref.biased[i - 1] ? b : u;
            part[0]++;
            part[3]++;
            ops[--pos] = 'D';
            i--;
        }
    }

    result = Py_BuildValue("(y#(llllllll))", ops + pos, n + m - pos, u[0], u[1], u[2], u[3],
                           b[0], b[1], b[2], b[3]);
done:
    words_free(&ref);
    words_free(&hyp);
    free(cost);
    free(back);
    free(ops);
    return result;
}

static PyMethodDef align_methods[] = {
    {"align", align, METH_VARARGS,
     "align(ref, hyp, biased, sub_cost, ins_cost, del_cost, order) -> (ops, counts)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef align_module = {
    PyModuleDef_HEAD_INIT, "_align", "Word alignment core of sap2-score.", -1, align_methods,
};

PyMODINIT_FUNC PyInit__align(void) { return PyModule_Create(&align_module); }
