/*
 * Word-level edit-distance alignment with configurable costs and tie-breaking.
 *
 * This is the inner loop of sap2-score, in C because the scoring protocols need the
 * full back-trace (not just the distance) for every utterance.  The Python side maps
 * words to integers; see sap2/scoring/align.py for the documented interface.
 *
 * align(ref, hyp, sub_cost, ins_cost, del_cost, order) -> bytes
 *   ref, hyp: sequences of Python ints (word ids).
 *   order:    a 3-character str naming the order in which the predecessors of a cell
 *             are tried: 'M' diagonal (match or substitution), 'I' insertion (i, j-1),
 *             'D' deletion (i-1, j).  The first move tried sets the best; a later one
 *             replaces it only if strictly cheaper.
 *   returns:  one byte per aligned pair, in reading order: 'C' correct, 'S'
 *             substitution, 'I' insertion, 'D' deletion.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

static int read_ids(PyObject *seq, const char *name, long **out, Py_ssize_t *len) {
    PyObject *fast = PySequence_Fast(seq, "align: ref and hyp must be sequences of ints");
    if (fast == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    long *ids = (long *)malloc(sizeof(long) * (size_t)(n > 0 ? n : 1));
    if (ids == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t k = 0; k < n; k++) {
        ids[k] = PyLong_AsLong(items[k]);
        if (ids[k] == -1 && PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "align: %s[%zd] is not an int", name, k);
            free(ids);
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    *out = ids;
    *len = n;
    return 0;
}

static PyObject *align(PyObject *self, PyObject *args) {
    PyObject *ref_obj, *hyp_obj;
    long sub_cost, ins_cost, del_cost;
    const char *order;
    Py_ssize_t order_len;
    if (!PyArg_ParseTuple(args, "OOllls#", &ref_obj, &hyp_obj, &sub_cost, &ins_cost,
                          &del_cost, &order, &order_len))
        return NULL;
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

    long *ref = NULL, *hyp = NULL;
    Py_ssize_t n, m;
    if (read_ids(ref_obj, "ref", &ref, &n) < 0) return NULL;
    if (read_ids(hyp_obj, "hyp", &hyp, &m) < 0) {
        free(ref);
        return NULL;
    }

    const Py_ssize_t width = m + 1;
    const size_t cells = (size_t)(n + 1) * (size_t)width;
    long *cost = (long *)malloc(sizeof(long) * cells);
    char *back = (char *)malloc(cells);
    char *ops = (char *)malloc((size_t)(n + m + 1));
    if (cost == NULL || back == NULL || ops == NULL) {
        free(ref); free(hyp); free(cost); free(back); free(ops);
        return PyErr_NoMemory();
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

    for (Py_ssize_t i = 1; i <= n; i++) {
        const long r = ref[i - 1];
        long *row = cost + i * width;
        const long *prev = cost + (i - 1) * width;
        char *brow = back + i * width;
        for (Py_ssize_t j = 1; j <= m; j++) {
            long best = 0;
            char move = 0;
            for (int k = 0; k < 3; k++) {
                long c;
                switch (order[k]) {
                    case 'M': c = prev[j - 1] + (r == hyp[j - 1] ? 0 : sub_cost); break;
                    case 'I': c = row[j - 1] + ins_cost; break;
                    default:  c = prev[j] + del_cost; break;
                }
                if (move == 0 || c < best) {
                    best = c;
                    move = order[k];
                }
            }
            row[j] = best;
            brow[j] = move;
        }
    }

    /* Walk back from (n, m), writing ops from the end of the buffer. */
    Py_ssize_t pos = n + m, i = n, j = m;
    while (i > 0 || j > 0) {
        char move = back[i * width + j];
        if (move == 'M') {
            ops[--pos] = (ref[i - 1] == hyp[j - 1]) ? 'C' : 'S';
            i--;
            j--;
        } else if (move == 'I') {
            ops[--pos] = 'I';
            j--;
        } else {
            ops[--pos] = 'D';
            i--;
        }
    }

    PyObject *result = PyBytes_FromStringAndSize(ops + pos, n + m - pos);
    free(ref); free(hyp); free(cost); free(back); free(ops);
    return result;
}

static PyMethodDef align_methods[] = {
    {"align", align, METH_VARARGS,
     "align(ref, hyp, sub_cost, ins_cost, del_cost, order) -> bytes of C/S/I/D ops"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef align_module = {
    PyModuleDef_HEAD_INIT, "_align", "Word alignment core of sap2-score.", -1, align_methods,
};

PyMODINIT_FUNC PyInit__align(void) { return PyModule_Create(&align_module); }
