/* core/backend/cuda - the conv family through cuDNN 9's graph (backend) API.
 *
 * Each product of conv_kernels.h (forward, backward_data, backward_weight)
 * is a one-operation cuDNN graph on NCDHW fp32 tensors (2-D convolutions are
 * 3-D ones with depth 1).  Its execution plan is built once per
 * (product, geometry, precision, pointer alignment) and cached for the life
 * of the process.  The engine is the first configuration of cuDNN's
 * heuristics (CUDNN_HEUR_MODE_A, then FALLBACK when A offers nothing usable)
 * that finalizes and whose numerical notes we accept:
 *   - never NONDETERMINISTIC (the determinism contract, docs/gpu.md);
 *   - in strict fp32 (IE_PRECISION_FP32) never TENSOR_CORE (TF32 inputs),
 *     DOWN_CONVERT_INPUTS, REDUCED_PRECISION_REDUCTION, FFT or WINOGRAD:
 *     what is left computes sums of fp32 products, the arithmetic the
 *     conformance tolerance (tests/unit/test_backend_ops.c, DOT) is argued for.
 * Engines are never chosen by timing, which can pick differently run to
 * run.  Plans run on the context's stream with the context's workspace.
 * The bias add and the bias gradient are our own kernels (pointwise.cu). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cudnn.h>

#include "core/backend/conv_kernels.h"
#include "core/backend/cuda/cuda_internal.h"
#include "core/backend/pointwise_kernels.h"

typedef enum conv_product { PRODUCT_FORWARD, PRODUCT_BACKWARD_DATA, PRODUCT_BACKWARD_WEIGHT } conv_product;

static const char *const PRODUCT_NAMES[] = {"conv.forward", "conv.backward_data", "conv.backward_weight"};

/* Tensor ids inside a graph (cuDNN's unique ids). */
enum { UID_X = 1, UID_W = 2, UID_Y = 3 };

/* The cache key; built with memset so memcmp sees no stray padding. */
typedef struct plan_key {
    int product;
    int precision;
    int64_t alignment;
    ie_conv_geom g;
} plan_key;

/* Every descriptor of a plan stays alive with it (the plan refers to its
 * engine config, graph and tensors). */
#define PLAN_DESCS 8

typedef struct plan_entry {
    plan_key key;
    cudnnBackendDescriptor_t plan;
    cudnnBackendDescriptor_t keep[PLAN_DESCS];
    int n_keep;
    int64_t workspace, engine;
    char notes[160];
    struct plan_entry *next;
} plan_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static plan_entry *cache;
static cudnnHandle_t handle;

static ie_status dnn_status(cudnnStatus_t s, const char *what) {
    if (s == CUDNN_STATUS_SUCCESS) return IE_OK;
    char detail[512] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    return ie_error_set(s == CUDNN_STATUS_ALLOC_FAILED ? IE_ERR_NOMEM : IE_ERR_DEVICE, "cudnn: %s: %s%s%s", what,
                        cudnnGetErrorString(s), detail[0] ? ": " : "", detail);
}

#define DNN(call, what) IE_TRY(dnn_status((call), (what)))

/* The one cuDNN handle, on the context's stream; made on first use (under
 * cache_lock). */
static ie_status handle_get(ie_device_ctx *ctx) {
    if (handle) return IE_OK;
    cudnnHandle_t h;
    DNN(cudnnCreate(&h), "cannot create a handle (is libcudnn.so.9 the one this module was built with?)");
    cudnnStatus_t s = cudnnSetStream(h, ie_cuda_stream(ctx));
    if (s != CUDNN_STATUS_SUCCESS) {
        cudnnDestroy(h);
        return dnn_status(s, "cannot set the stream");
    }
    handle = h;
    return IE_OK;
}

/* ---------------- building a graph ---------------- */

typedef struct builder {
    cudnnBackendDescriptor_t d[PLAN_DESCS];
    int n;
} builder;

static ie_status make_desc(builder *b, cudnnBackendDescriptorType_t type, cudnnBackendDescriptor_t *out) {
    if (b->n == PLAN_DESCS) return ie_error_set(IE_ERR_INTERNAL, "cudnn: too many descriptors for one plan");
    DNN(cudnnBackendCreateDescriptor(type, out), "cannot create a descriptor");
    b->d[b->n++] = *out;
    return IE_OK;
}

static void builder_free(builder *b) {
    for (int i = b->n - 1; i >= 0; i--) cudnnBackendDestroyDescriptor(b->d[i]);
    b->n = 0;
}

static ie_status set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                     int64_t count, const void *value, const char *what) {
    return dnn_status(cudnnBackendSetAttribute(d, name, type, count, value), what);
}

/* A packed NCDHW fp32 tensor [n, c, s0, s1, s2]. */
static ie_status make_tensor(builder *b, int64_t uid, int64_t n, int64_t c, const int64_t s[3], int64_t alignment,
                             cudnnBackendDescriptor_t *out) {
    int64_t dims[5] = {n, c, s[0], s[1], s[2]}, strides[5];
    strides[4] = 1;
    for (int i = 3; i >= 0; i--) strides[i] = strides[i + 1] * dims[i + 1];
    cudnnDataType_t dt = CUDNN_DATA_FLOAT;
    IE_TRY(make_desc(b, CUDNN_BACKEND_TENSOR_DESCRIPTOR, out));
    IE_TRY(set(*out, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt, "tensor data type"));
    IE_TRY(set(*out, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 5, dims, "tensor dimensions"));
    IE_TRY(set(*out, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 5, strides, "tensor strides"));
    IE_TRY(set(*out, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, "tensor id"));
    IE_TRY(set(*out, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment, "tensor alignment"));
    return dnn_status(cudnnBackendFinalize(*out), "tensor descriptor");
}

static ie_status make_conv_desc(builder *b, const ie_conv_geom *g, cudnnBackendDescriptor_t *out) {
    int64_t dims = 3, pad[3], stride[3], dil[3];
    for (int a = 0; a < 3; a++) pad[a] = g->pad[a], stride[a] = g->stride[a], dil[a] = g->dil[a];
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION; /* PyTorch's convolution: no kernel flip */
    IE_TRY(make_desc(b, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, out));
    IE_TRY(set(*out, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute, "conv compute type"));
    IE_TRY(set(*out, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode, "conv mode"));
    IE_TRY(set(*out, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims, "conv spatial dims"));
    IE_TRY(set(*out, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 3, dil, "conv dilations"));
    IE_TRY(set(*out, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 3, stride, "conv strides"));
    IE_TRY(set(*out, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 3, pad, "conv pre-paddings"));
    IE_TRY(set(*out, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 3, pad, "conv post-paddings"));
    return dnn_status(cudnnBackendFinalize(*out), "convolution descriptor");
}

/* The operation of `product` over x [batch, cin, in], w [cout, cin, k],
 * y [batch, cout, out] (the graph's names are always the forward's). */
static ie_status make_operation(builder *b, conv_product product, cudnnBackendDescriptor_t x,
                                cudnnBackendDescriptor_t w, cudnnBackendDescriptor_t y,
                                cudnnBackendDescriptor_t conv, cudnnBackendDescriptor_t *out) {
    static const cudnnBackendDescriptorType_t types[] = {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
                                                         CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
                                                         CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR};
    /* alpha, beta, conv, w-or-x, x-or-dx, y-or-dy per product */
    static const cudnnBackendAttributeName_t names[3][6] = {
        {CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA,
         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y},
        {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY},
        {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY},
    };
    const cudnnBackendAttributeName_t *n = names[product];
    float alpha = 1.0f, beta = 0.0f; /* overwrite the output */
    IE_TRY(make_desc(b, types[product], out));
    IE_TRY(set(*out, n[0], CUDNN_TYPE_FLOAT, 1, &alpha, "operation alpha"));
    IE_TRY(set(*out, n[1], CUDNN_TYPE_FLOAT, 1, &beta, "operation beta"));
    IE_TRY(set(*out, n[2], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv, "operation convolution"));
    IE_TRY(set(*out, n[3], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w, "operation filter"));
    IE_TRY(set(*out, n[4], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x, "operation input"));
    IE_TRY(set(*out, n[5], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y, "operation output"));
    return dnn_status(cudnnBackendFinalize(*out), "operation descriptor");
}

/* ---------------- choosing an engine ---------------- */

static const char *const NOTE_NAMES[CUDNN_NUMERICAL_NOTE_TYPE_COUNT] = {
    "TENSOR_CORE", "DOWN_CONVERT_INPUTS", "REDUCED_PRECISION_REDUCTION", "FFT", "NONDETERMINISTIC",
    "WINOGRAD",    "WINOGRAD_TILE_4x4",   "WINOGRAD_TILE_6x6",           "WINOGRAD_TILE_13x13", "STRICT_NAN_PROP"};

/* Whether a note excludes an engine at this precision (see the top). */
static bool note_excludes(cudnnBackendNumericalNote_t note, ie_precision precision) {
    if (note == CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC) return true;
    if (precision != IE_PRECISION_FP32) return false;
    switch (note) {
    case CUDNN_NUMERICAL_NOTE_TENSOR_CORE:
    case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS:
    case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION:
    case CUDNN_NUMERICAL_NOTE_FFT:
    case CUDNN_NUMERICAL_NOTE_WINOGRAD:
    case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4:
    case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6:
    case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13: return true;
    default: return false;
    }
}

/* What the search saw, for the error when nothing qualifies. */
typedef struct search_log {
    int offered, excluded, refused;
    char last_excluded[160];
} search_log;

/* The engine of cfg: its index and notes; *ok false when a note excludes it. */
static ie_status inspect_engine(cudnnBackendDescriptor_t cfg, ie_precision precision, int64_t *index, char *notes,
                                size_t notes_size, bool *ok) {
    cudnnBackendDescriptor_t engine;
    DNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &engine), "cannot create an engine descriptor");
    int64_t n = 0;
    cudnnBackendNumericalNote_t got[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    cudnnStatus_t s = cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n,
                                               &engine);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &n, index);
    int64_t n_notes = 0;
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                     CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n_notes, got);
    cudnnBackendDestroyDescriptor(engine);
    DNN(s, "cannot read an engine's numerical notes");
    *ok = true;
    size_t used = 0;
    notes[0] = '\0';
    for (int64_t i = 0; i < n_notes && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; i++) {
        const char *name = (int)got[i] >= 0 && got[i] < CUDNN_NUMERICAL_NOTE_TYPE_COUNT ? NOTE_NAMES[got[i]] : "?";
        if (note_excludes(got[i], precision)) *ok = false;
        if (used < notes_size) used += (size_t)snprintf(notes + used, notes_size - used, "%s%s", used ? "," : "", name);
    }
    return IE_OK;
}

/* Tries the configurations heuristics `mode` proposes for graph, in their
 * order; the first acceptable one that finalizes becomes e->plan (its
 * descriptors join b).  *found false when none did. */
static ie_status search(builder *b, cudnnBackendDescriptor_t graph, cudnnBackendHeurMode_t mode,
                        ie_precision precision, plan_entry *e, search_log *log, bool *found) {
    *found = false;
    cudnnBackendDescriptor_t heur;
    DNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur), "cannot create heuristics");
    int64_t count = 0;
    cudnnStatus_t s = cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
                                               CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    if (s == CUDNN_STATUS_SUCCESS) s = cudnnBackendFinalize(heur);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                     NULL);
    if (s != CUDNN_STATUS_SUCCESS || count <= 0) {
        cudnnBackendDestroyDescriptor(heur);
        /* A heuristics mode that has nothing for this graph is not an error:
         * the caller tries the next mode. */
        return IE_OK;
    }
    cudnnBackendDescriptor_t *cfgs = calloc((size_t)count, sizeof *cfgs);
    if (!cfgs) {
        cudnnBackendDestroyDescriptor(heur);
        return ie_error_set(IE_ERR_NOMEM, "cudnn: out of memory listing engine configurations");
    }
    int64_t made = 0;
    for (; made < count; made++)
        if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfgs[made]) != CUDNN_STATUS_SUCCESS)
            break;
    int64_t got = 0;
    s = made == count ? cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                                 count, &got, cfgs)
                      : CUDNN_STATUS_ALLOC_FAILED;
    ie_status st = dnn_status(s, "cannot read the heuristics' engine configurations");
    int64_t chosen = -1;
    for (int64_t i = 0; st == IE_OK && i < got && chosen < 0; i++) {
        bool ok;
        int64_t index = -1;
        char notes[160];
        st = inspect_engine(cfgs[i], precision, &index, notes, sizeof notes, &ok);
        if (st != IE_OK) break;
        log->offered++;
        if (!ok) {
            log->excluded++;
            snprintf(log->last_excluded, sizeof log->last_excluded, "engine %" PRId64 " [%s]", index, notes);
            continue;
        }
        cudnnBackendDescriptor_t plan;
        st = dnn_status(cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan),
                        "cannot create an execution plan");
        if (st != IE_OK) break;
        s = cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                         1, &cfgs[i]);
        if (s == CUDNN_STATUS_SUCCESS) s = cudnnBackendFinalize(plan);
        int64_t ws = 0, n = 0;
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n, &ws);
        if (s != CUDNN_STATUS_SUCCESS) {
            /* This engine cannot run this graph here (a normal answer). */
            cudnnBackendDestroyDescriptor(plan);
            log->refused++;
            continue;
        }
        chosen = i;
        e->plan = plan, e->workspace = ws, e->engine = index;
        snprintf(e->notes, sizeof e->notes, "%s", notes);
    }
    for (int64_t i = 0; i < made; i++)
        if (i != chosen) cudnnBackendDestroyDescriptor(cfgs[i]);
    if (chosen >= 0 && b->n < PLAN_DESCS) {
        b->d[b->n++] = cfgs[chosen];
    } else if (chosen >= 0) {
        cudnnBackendDestroyDescriptor(cfgs[chosen]);
        cudnnBackendDestroyDescriptor(e->plan);
        e->plan = NULL;
        chosen = -1;
        if (st == IE_OK) st = ie_error_set(IE_ERR_INTERNAL, "cudnn: too many descriptors for one plan");
    }
    free(cfgs);
    cudnnBackendDestroyDescriptor(heur);
    *found = chosen >= 0;
    return st;
}

static void geom_text(const ie_conv_geom *g, char *buf, size_t size) {
    snprintf(buf, size,
             "x [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "] -> y [%" PRId64 ", %" PRId64
             ", %" PRId64 ", %" PRId64 ", %" PRId64 "], kernel %dx%dx%d, stride %d,%d,%d, padding %d,%d,%d, "
             "dilation %d,%d,%d",
             g->batch, g->cin, g->in[0], g->in[1], g->in[2], g->batch, g->cout, g->out[0], g->out[1], g->out[2],
             g->kernel[0], g->kernel[1], g->kernel[2], g->stride[0], g->stride[1], g->stride[2], g->pad[0], g->pad[1],
             g->pad[2], g->dil[0], g->dil[1], g->dil[2]);
}

/* Builds the plan of key (under cache_lock). */
static ie_status build_plan(ie_device_ctx *ctx, const plan_key *key, plan_entry **out) {
    *out = NULL;
    IE_TRY(handle_get(ctx));
    const ie_conv_geom *g = &key->g;
    builder b = {.n = 0};
    cudnnBackendDescriptor_t x, w, y, conv, op, graph;
    int64_t kdims[3] = {g->kernel[0], g->kernel[1], g->kernel[2]};
    ie_status st = make_tensor(&b, UID_X, g->batch, g->cin, g->in, key->alignment, &x);
    if (st == IE_OK) st = make_tensor(&b, UID_W, g->cout, g->cin, kdims, key->alignment, &w);
    if (st == IE_OK) st = make_tensor(&b, UID_Y, g->batch, g->cout, g->out, key->alignment, &y);
    if (st == IE_OK) st = make_conv_desc(&b, g, &conv);
    if (st == IE_OK) st = make_operation(&b, (conv_product)key->product, x, w, y, conv, &op);
    if (st == IE_OK) st = make_desc(&b, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &graph);
    if (st == IE_OK) st = set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op, "graph ops");
    if (st == IE_OK) st = set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle, "graph handle");
    if (st == IE_OK) st = dnn_status(cudnnBackendFinalize(graph), "operation graph");
    plan_entry *e = calloc(1, sizeof *e);
    if (st == IE_OK && !e) st = ie_error_set(IE_ERR_NOMEM, "cudnn: out of memory for a plan");
    search_log log = {0, 0, 0, ""};
    bool found = false;
    if (st == IE_OK) st = search(&b, graph, CUDNN_HEUR_MODE_A, (ie_precision)key->precision, e, &log, &found);
    if (st == IE_OK && !found)
        st = search(&b, graph, CUDNN_HEUR_MODE_FALLBACK, (ie_precision)key->precision, e, &log, &found);
    if (st == IE_OK && !found) {
        char geom[400];
        geom_text(g, geom, sizeof geom);
        st = ie_error_set(IE_ERR_UNSUPPORTED,
                          "%s: cuDNN offers no usable engine for %s at precision %s: %d offered, %d excluded by "
                          "their numerical notes (nondeterministic%s; last: %s), %d refused to build a plan",
                          PRODUCT_NAMES[key->product], geom, ie_precision_name((ie_precision)key->precision),
                          log.offered, log.excluded,
                          key->precision == IE_PRECISION_FP32 ? ", or not strict fp32: try precision tf32" : "",
                          log.last_excluded[0] ? log.last_excluded : "none", log.refused);
    }
    if (st != IE_OK) {
        builder_free(&b);
        free(e);
        return st;
    }
    e->key = *key;
    memcpy(e->keep, b.d, sizeof b.d);
    e->n_keep = b.n;
    *out = e;
    return IE_OK;
}

/* The largest power of two (at most 16) dividing every address. */
static int64_t alignment_of(const void *const *ptrs, int n) {
    int64_t a = 16;
    for (int i = 0; i < n; i++)
        while (a > 1 && (uintptr_t)ptrs[i] % (uintptr_t)a) a /= 2;
    return a;
}

static ie_status plan_get(ie_device_ctx *ctx, conv_product product, const ie_conv_geom *g, const void *const *ptrs,
                          plan_entry **out) {
    plan_key key;
    memset(&key, 0, sizeof key);
    key.product = (int)product;
    key.precision = (int)ctx->precision;
    key.alignment = alignment_of(ptrs, 3);
    key.g = *g;
    pthread_mutex_lock(&cache_lock);
    plan_entry *e = cache;
    while (e && memcmp(&e->key, &key, sizeof key) != 0) e = e->next;
    ie_status st = IE_OK;
    if (!e) {
        st = build_plan(ctx, &key, &e);
        if (st == IE_OK) e->next = cache, cache = e;
    }
    pthread_mutex_unlock(&cache_lock);
    *out = e;
    return st;
}

static int64_t volume(const int64_t s[3]) { return s[0] * s[1] * s[2]; }

/* Runs product on (x, w, y) pointers in the forward's naming.  A geometry
 * with nothing to sum (an empty batch, channel count or volume) is not a
 * cuDNN graph: the product's output is zeroed, as the CPU's sums of no
 * terms are. */
static ie_status execute(ie_device_ctx *ctx, conv_product product, const ie_conv_geom *g, void *x, void *w, void *y) {
    if (g->batch == 0 || g->cin == 0 || g->cout == 0 || volume(g->in) == 0 || volume(g->out) == 0) {
        int64_t n = product == PRODUCT_FORWARD         ? g->batch * g->cout * volume(g->out)
                    : product == PRODUCT_BACKWARD_DATA ? g->batch * g->cin * volume(g->in)
                                                       : g->cout * g->cin * g->kernel[0] * g->kernel[1] * g->kernel[2];
        void *dst = product == PRODUCT_FORWARD ? y : product == PRODUCT_BACKWARD_DATA ? x : w;
        if (n <= 0) return IE_OK;
        return ie_cuda_status(cudaMemsetAsync(dst, 0, (size_t)n * sizeof(float), ie_cuda_stream(ctx)),
                              PRODUCT_NAMES[product]);
    }
    const void *ptrs[3] = {x, w, y};
    plan_entry *e;
    IE_TRY(plan_get(ctx, product, g, ptrs, &e));
    void *ws = NULL;
    if (e->workspace > 0) IE_TRY(ie_cuda_workspace(ctx, (size_t)e->workspace, &ws));
    int64_t uids[3] = {UID_X, UID_W, UID_Y};
    void *data[3] = {x, w, y};
    cudnnBackendDescriptor_t pack;
    DNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack), "cannot create a variant pack");
    cudnnStatus_t s = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, data);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
    if (s == CUDNN_STATUS_SUCCESS) s = cudnnBackendFinalize(pack);
    if (s == CUDNN_STATUS_SUCCESS) s = cudnnBackendExecute(handle, e->plan, pack);
    cudnnBackendDestroyDescriptor(pack);
    if (s != CUDNN_STATUS_SUCCESS) {
        char geom[400];
        geom_text(g, geom, sizeof geom);
        ie_status st = dnn_status(s, PRODUCT_NAMES[product]);
        return ie_error_wrap(st, "%s (engine %" PRId64 ", %s)", PRODUCT_NAMES[product], e->engine, geom);
    }
    return IE_OK;
}

/* ---------------- the family ---------------- */

/* out[n, c, :] += bias[c] (in place: one thread per element). */
static ie_status add_bias(ie_device_ctx *ctx, ie_tensor *out, const ie_tensor *bias, int64_t channels,
                          int64_t inner, const char *what) {
    if (!bias) return IE_OK;
    float *o = ie_f32(out);
    return ie_cuda_status(ie_cu_binary(ctx->stream, IE_BINARY_ADD, o, ie_f32(bias), 2, channels, inner, o, out->numel),
                          what);
}

static ie_status cuda_conv_forward(ie_device_ctx *ctx, const ie_conv_geom *g, const ie_tensor *x, const ie_tensor *w,
                                   const ie_tensor *bias, ie_tensor *y) {
    IE_TRY(execute(ctx, PRODUCT_FORWARD, g, ie_tensor_ptr(x), ie_tensor_ptr(w), ie_tensor_ptr(y)));
    return add_bias(ctx, y, bias, g->cout, volume(g->out), "conv.forward bias");
}

static ie_status cuda_conv_backward_data(ie_device_ctx *ctx, const ie_conv_geom *g, const ie_tensor *gy,
                                         const ie_tensor *w, const ie_tensor *bias, ie_tensor *gx) {
    IE_TRY(execute(ctx, PRODUCT_BACKWARD_DATA, g, ie_tensor_ptr(gx), ie_tensor_ptr(w), ie_tensor_ptr(gy)));
    return add_bias(ctx, gx, bias, g->cin, volume(g->in), "conv.backward_data bias");
}

static ie_status cuda_conv_backward_weight(ie_device_ctx *ctx, const ie_conv_geom *g, const ie_tensor *x,
                                           const ie_tensor *gy, ie_tensor *gw) {
    return execute(ctx, PRODUCT_BACKWARD_WEIGHT, g, ie_tensor_ptr(x), ie_tensor_ptr(gw), ie_tensor_ptr(gy));
}

/* The channel sums of pointwise.cu: each (channel, batch item) row in
 * double, rows added in batch order. */
static ie_status cuda_conv_bias_grad(ie_device_ctx *ctx, const ie_tensor *t, int64_t batch, int64_t channels,
                                     int64_t inner, ie_tensor *gb) {
    void *partial = NULL;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)(batch * channels > 0 ? batch * channels : 1) * sizeof(double), &partial));
    int e = ie_cu_channel_sum(ctx->stream, ie_f32(t), batch, channels, inner, partial, ie_f32(gb));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "conv.bias_grad");
}

const struct ie_conv_kernels ie_cuda_conv_kernels = {
    .forward = cuda_conv_forward,
    .backward_data = cuda_conv_backward_data,
    .backward_weight = cuda_conv_backward_weight,
    .bias_grad = cuda_conv_bias_grad,
};

/* ---------------- what run.json records ---------------- */

size_t ie_cuda_conv_engines_json(char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "[");
    pthread_mutex_lock(&cache_lock);
    for (const plan_entry *e = cache; e; e = e->next) {
        char geom[400];
        geom_text(&e->key.g, geom, sizeof geom);
        used += (size_t)snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,
                                 "%s{\"op\": \"%s\", \"geometry\": \"%s\", \"precision\": \"%s\", \"alignment\": "
                                 "%" PRId64 ", \"engine\": %" PRId64 ", \"notes\": \"%s\", \"workspace_bytes\": "
                                 "%" PRId64 "}",
                                 e == cache ? "" : ", ", PRODUCT_NAMES[e->key.product], geom,
                                 ie_precision_name((ie_precision)e->key.precision), e->key.alignment, e->engine,
                                 e->notes, e->workspace);
    }
    pthread_mutex_unlock(&cache_lock);
    used += (size_t)snprintf(buf + (used < size ? used : size), used < size ? size - used : 0, "]");
    return used;
}

size_t ie_cuda_cudnn_version(void) { return cudnnGetVersion(); }
