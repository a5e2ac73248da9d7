/* core/train - the training loop, validation, checkpoints, resume and test
 * inference.  One `trainer` holds everything a run needs; each phase is a
 * function below, in the order a run goes through them. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/safetensors.h"
#include "core/data/cv_settings.h"
#include "core/data/loader.h"
#include "core/data/sample_util.h"
#include "core/data/scalar_settings.h"
#include "core/util/path.h"
#include "core/util/strmap.h"
#include "core/dist/buckets.h"
#include "core/dist/comm.h"
#include "core/dist/grads.h"
#include "core/dist/leaf_packer.h"
#include "core/dist/sync_norm.h"
#include "core/dist/tree.h"
#include "core/plugin/guard.h"
#include "core/backend/backend.h"
#include "core/plugin/host.h"
#include "core/plugin/loader.h"
#include "core/plugin/model_settings.h"
#include "core/tracking/mlflow_log.h"
#include "core/tensor/tensor_impl.h"
#include "core/train/compute.h"
#include "core/train/data_setup.h"
#include "core/train/deep_supervision.h"
#include "core/train/default_loss.h"
#include "core/train/median_stop.h"
#include "core/train/optim_setup.h"
#include "core/train/resume.h"
#include "core/train/task_interface.h"
#include "core/train/train_settings.h"
#include "core/run/run_dir.h"
#include "core/run/run_settings.h"
#include "core/train/trainer.h"
#include "core/util/file_util.h"
#include "core/util/sha256.h"
#include "innereye/autograd.h"
#include "innereye/ops.h"
#include "innereye/rng.h"
#include "innereye/threads.h"

typedef struct trainer {
    ie_config *cfg;
    bool owns_cfg;
    char run_dir[4096];
    char config_sha[65];
    ie_run_settings run_settings;     /* output.dir, run.name, seed, ... (borrowed from cfg) */
    ie_model_settings model_settings; /* model.name, model.plugin, model.init_checkpoint */
    ie_cv_settings cv;                /* cv.splits, cv.split_index, ... */
    ie_train_settings train;          /* train.*, the loader's, the device (where parameters, batches and
                                         kernels live) and dist.* */
    uint64_t seed;                    /* the run's seed, or its fold's */
    bool progress; /* a terminal: redraw a progress line */
    ie_loaded_plugin *plugin;
    ie_model *model;
    ie_params *params;
    ie_host host;
    ie_dataset *ds;
    ie_split split;
    ie_loss_spec loss;
    ie_optimizer *opt;
    ie_optimizer_opts opt_opts;
    ie_lr_schedule schedule;
    ie_trainer_state state;
    cJSON *record; /* run.json */
    ie_median_stop median;
    char init_sha[65]; /* of model.init_checkpoint, when one was loaded */
    int lock_fd;             /* the run folder's lock (run_dir.h) */
    int checkpoint_epoch;    /* the newest checkpoint on disk; 0: none yet */
    ie_plugin_hooks_ctx hooks_ctx; /* the plugin's data hooks, guarded */
    /* What depends on the kind of model (core/task/task.h). */
    const ie_task *task;
    void *task_state;
    ie_task_env env;
    /* Micro-batches and processes (core/dist, docs/distributed.md). */
    ie_comm *comm;           /* borrowed from the request; NULL: one process */
    int rank, ranks;
    bool accumulate;         /* micro-batch < batch, ranks > 1 or sync batch norm: the step goes through the tree */
    ie_grad_layout layout;
    float *leaves, *sum;     /* this rank's leaves of a step; the root */
    void *buffers;           /* the buffers a step keeps (see distributed_step) */
    ie_buckets buckets;
    double exchange_seconds; /* the step waited for the reduction and the buffer broadcast (docs/performance.md) */
    double reduce_seconds;   /* the reduction ran, on its thread while backward ran */
    long long exchanges;
} trainer;

uint64_t ie_fold_seed(uint64_t seed, int fold) {
    uint32_t counter[4] = {(uint32_t)fold, 0, 0, 0x43564644u /* "CVFD" */}, out[4];
    ie_philox4x32(seed, counter, out);
    return ((uint64_t)out[0] << 32 | out[1]) >> 1; /* non-negative as a config int */
}

/* ------------------------------------------------------------------ host */

/* ------------------------------------------------------------------ setup */

static ie_status read_settings(trainer *t) {
    IE_TRY(ie_run_settings_read(t->cfg, &t->run_settings));
    IE_TRY(ie_model_settings_read(t->cfg, &t->model_settings));
    IE_TRY(ie_cv_settings_read(t->cfg, &t->cv));
    t->seed = t->run_settings.seed;
    /* Cross-validation fold i trains with its own seed, derived from the run
     * seed and i (the split itself uses the run seed, so folds share the
     * test set). */
    if (t->cv.split_index >= 0) t->seed = ie_fold_seed(t->seed, t->cv.split_index);
    IE_TRY(ie_train_settings_read(t->cfg, &t->train));
    return ie_config_sha256(t->cfg, t->config_sha);
}

static ie_status load_plugin(trainer *t) {
    const char *name = t->model_settings.name, *path = t->model_settings.plugin;
    IE_TRY(ie_plugin_find(ie_model_settings_plugin_spec(&t->model_settings), &t->plugin));
    const ie_plugin *p = &t->plugin->table;
    if (path[0] && strcmp(p->name, name) != 0 && strcmp(name, "HelloWorld") != 0)
        fprintf(stderr, "note: model.plugin %s provides model \"%s\", not model.name \"%s\"\n", path, p->name, name);
    if (p->task == IE_TASK_OTHER && (!p->load_item || !p->collate))
        return ie_error_set(IE_ERR_PLUGIN,
                            "%s: model \"%s\" is a %s model; the host has default data loading for segmentation, "
                            "classification and regression only, so the plugin must provide load_item and collate",
                            t->plugin->path, p->name, ie_task_kind_name(p->task));
    return ie_plugin_validate_config(t->plugin, ie_config_text(t->cfg));
}

/* The config create() receives: the run's, plus what the task knows about
 * the model's inputs (model.params.inputs for classification and
 * regression); NULL *out means the run's config unchanged. */
static ie_status model_config(trainer *t, char **out) {
    *out = NULL;
    if (!t->task->describe_inputs) return IE_OK;
    cJSON *root = cJSON_Parse(ie_config_text(t->cfg));
    cJSON *model = root ? cJSON_GetObjectItemCaseSensitive(root, "model") : NULL;
    cJSON *params = model ? cJSON_GetObjectItemCaseSensitive(model, "params") : NULL;
    if (model && !params) params = cJSON_AddObjectToObject(model, "params");
    ie_status st = params ? t->task->describe_inputs(t->task_state, params)
                          : ie_error_set(IE_ERR_INTERNAL, "the resolved config has no model section");
    if (st == IE_OK) *out = cJSON_PrintUnformatted(root);
    if (st == IE_OK && !*out) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    return st;
}

static void init_host(trainer *t) {
    t->host = ie_host_default(t->seed, t->run_dir);
    t->host.device = t->train.device.device;
}

/* train.device and train.precision: the device must be usable (the error
 * names what is missing: the CUDA module, the driver or a device) before the
 * model is made on it. */
static ie_status select_device(trainer *t) {
    if (t->train.device.device != IE_CPU && t->task->cpu_only)
        return ie_error_set(IE_ERR_UNSUPPORTED, "train.device %s: %s; use train.device cpu",
                            ie_device_name(t->train.device.device), t->task->cpu_only);
    ie_status st = ie_device_check(t->train.device.device);
    if (st == IE_OK) st = ie_device_set_precision(t->train.device.device, t->train.device.precision);
    if (st != IE_OK)
        ie_error_wrap(st, "train.device %s, train.precision %s", ie_device_name(t->train.device.device),
                      ie_precision_name(t->train.device.precision));
    return st;
}

static ie_status create_model(trainer *t) {
    char *config_json = NULL;
    IE_TRY(model_config(t, &config_json));
    ie_status created = ie_plugin_create(t->plugin, config_json ? config_json : ie_config_text(t->cfg), &t->host,
                                         &t->model);
    free(config_json);
    IE_TRY(created);
    t->env.model = t->model;
    ie_guard_enter(t->plugin, "parameters");
    t->params = t->plugin->table.parameters(t->model);
    ie_guard_leave();
    if (!t->params) return ie_error_set(IE_ERR_PLUGIN, "%s: parameters() returned NULL", t->plugin->path);
    /* A plugin may make its tensors on the CPU whatever host->device says;
     * the parameters (and so the optimiser state) move to the device here. */
    IE_TRY(ie_params_to(t->params, t->train.device.device));
    IE_TRY(ie_optim_setup_from_config(t->cfg, t->train.epochs, &t->opt_opts, &t->schedule));
    if (t->plugin->table.configure_optimizer)
        IE_TRY(IE_GUARDED(t->plugin, "configure_optimizer",
                          t->plugin->table.configure_optimizer(t->model, &t->opt_opts, &t->schedule)));
    ie_status st = ie_optimizer_new(&t->opt_opts, t->params, &t->opt);
    if (st != IE_OK)
        ie_error_wrap(st, "plugin %s (%s): the optimiser cannot use the model's parameters", t->plugin->table.name,
                      t->plugin->path);
    return st;
}

/* model.init_checkpoint: start from given weights (docs/models.md).  Strict:
 * the file holds exactly the model's tensors; otherwise those whose names
 * match are loaded, but at least one must. */
static ie_status load_init_checkpoint(trainer *t) {
    const char *path = t->model_settings.init_checkpoint;
    bool strict = t->model_settings.init_strict;
    if (!path[0]) return IE_OK;
    ie_params *src = NULL;
    ie_status st = ie_safetensors_read(path, &src);
    if (st != IE_OK) return ie_error_wrap(st, "model.init_checkpoint");
    st = ie_params_copy_from(t->params, src, path, strict);
    int used = 0, unknown = -1, n = ie_params_count(src);
    for (int i = 0; i < n; i++)
        if (ie_params_find(t->params, ie_params_name(src, i))) used++;
        else if (unknown < 0) unknown = i;
    if (st == IE_OK && ((strict && unknown >= 0) || used == 0))
        st = ie_error_set(IE_ERR_CONFIG, "%s: %d of its %d tensors (e.g. '%s') are not tensors of model %s; convert "
                                         "the checkpoint for this model and model.params%s",
                          path, n - used, n, n ? ie_params_name(src, unknown) : "", t->plugin->table.name,
                          used ? ", or set model.init_strict=false to load the matching ones only" : "");
    if (st == IE_OK) st = ie_sha256_file_hex(path, t->init_sha);
    if (st == IE_OK)
        printf("initial weights: %d of the model's %d tensors from %s\n", used, ie_params_count(t->params), path);
    ie_params_free(src);
    return st == IE_OK ? st : ie_error_wrap(st, "model.init_checkpoint");
}

static ie_data_hooks data_hooks(trainer *t) {
    return ie_plugin_data_hooks(t->plugin, t->model, t->task->hooks(t->task_state), &t->hooks_ctx);
}

/* ------------------------------------------------------------------ logs */

/* train_log.csv is rewritten whole (it is small) through a temporary file,
 * so a full disk or a crash never leaves a half-written row. */
static ie_status open_log(trainer *t, bool resume) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/train_log.csv", t->run_dir));
    char *kept = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&kept, &size);
    if (!mem) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    if (resume) {
        /* Keep the header and the rows of the epochs the checkpoint covers:
         * epochs after it are trained again. */
        FILE *f = fopen(path, "r");
        char line[8192];
        for (int row = -1; f && row < t->state.log_rows && fgets(line, sizeof line, f); row++) fputs(line, mem);
        if (f) fclose(f);
    } else {
        fprintf(mem, "epoch,lr,train_loss,val_loss");
        ie_task_metrics m;
        t->task->metric_names(t->task_state, &m);
        for (int c = 0; c < m.count; c++) fprintf(mem, ",%s", m.column[c]);
        fprintf(mem, ",seconds\n");
    }
    return ie_write_stream_atomic(mem, &kept, &size, path);
}

static ie_status append_log(trainer *t, int epoch, double lr, double train_loss, double val_loss,
                            const ie_task_metrics *m, double seconds) {
    char path[4200], *old = NULL, *text = NULL;
    size_t size = 0;
    IE_TRY(ie_path_format(path, sizeof path, "%s/train_log.csv", t->run_dir));
    IE_TRY(ie_read_file(path, &old, NULL));
    FILE *mem = open_memstream(&text, &size);
    if (!mem) {
        free(old);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    }
    fputs(old, mem);
    free(old);
    fprintf(mem, "%d,%.9g,%.9g,%.9g", epoch, lr, train_loss, val_loss);
    for (int c = 0; c < m->count; c++) fprintf(mem, ",%.6f", m->value[c]);
    fprintf(mem, ",%.3f\n", seconds);
    IE_TRY(ie_write_stream_atomic(mem, &text, &size, path));
    t->state.log_rows = epoch;
    return IE_OK;
}

static double seconds_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

static void show_progress(const trainer *t, int epoch, int batch, int batches, double loss, double elapsed) {
    if (!t->progress) return;
    int width = 24, filled = batches ? width * batch / batches : width;
    double eta = batch ? elapsed / batch * (batches - batch) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    printf("\repoch %d/%d [%s] %d/%d loss %.4f ETA %02d:%02d ", epoch, t->train.epochs, bar, batch, batches, loss,
           (int)eta / 60, (int)eta % 60);
    fflush(stdout);
}

/* ------------------------------------------------------------- training */

static ie_status checkpoint(trainer *t) {
    if (!t->env.follower) IE_TRY(ie_checkpoint_save(t->run_dir, &t->state, t->params, t->opt));
    t->checkpoint_epoch = t->state.epoch;
    ie_guard_checkpoint(t->checkpoint_epoch); /* a stop from here on names it (cli_runs) */
    return IE_OK;
}

/* What to do after a non-finite loss: never resume (it would diverge again
 * from the same state), but start anew with a lower learning rate. */
static void divergence_advice(const trainer *t, char *out, size_t size) {
    if (t->checkpoint_epoch > 0)
        snprintf(out, size, "The last good checkpoint is of epoch %d (%s/checkpoints/epoch_%04d.safetensors): start a "
                 "new run with a lower train.optimizer.lr, from those weights if you like (--set "
                 "model.init_checkpoint=%s/checkpoints/epoch_%04d.safetensors), or check the data",
                 t->checkpoint_epoch, t->run_dir, t->checkpoint_epoch, t->run_dir, t->checkpoint_epoch);
    else
        snprintf(out, size, "No checkpoint was written yet: start a new run with a lower train.optimizer.lr, or check "
                 "the data");
}

/* The loss of a step was not finite: training stops, with what to do. */
static ie_status not_finite_error(const trainer *t, int epoch, int step, float value) {
    char advice[9000];
    divergence_advice(t, advice, sizeof advice);
    return ie_error_set(IE_ERR_NUMERIC, "epoch %d, step %d: the loss is not finite (%g); training stopped. %s",
                        epoch + 1, step + 1, (double)value, advice);
}

/* The loss of one output: the plugin's, or the one the config names. */
static ie_status output_loss(void *ctx, ie_tensor *output, const ie_batch *batch, ie_tensor **out) {
    trainer *t = ctx;
    return t->plugin->table.loss ? IE_GUARDED(t->plugin, "loss", t->plugin->table.loss(t->model, output, batch, out))
                                 : ie_loss_compute(&t->loss, output, batch, out);
}

/* Forward, loss and backward of one batch, leaving its gradients in the
 * parameters.  *not_finite: backward refused a non-finite loss (on the CPU
 * before any gradient exists, so the weights never see it). */
static ie_status forward_backward(trainer *t, ie_batch *batch, int epoch, ie_tensor **loss, bool *not_finite) {
    *not_finite = false;
    /* Collated on the CPU; labels are checked there before they move (a
     * no-op when the model lives on the CPU). */
    ie_status st = ie_data_batch_to(batch, t->host.device, t->task->label_classes(t->task_state));
    ie_tensor *output = NULL;
    ie_optimizer_zero_grad(t->opt);
    ie_guard_progress(epoch + 1, t->state.global_step + 1, t->checkpoint_epoch);
    ie_tensor *aux[IE_PLUGIN_MAX_AUX] = {0};
    int n_aux = 0;
    if (st == IE_OK && t->train.deep_supervision)
        st = ie_plugin_forward_deep(t->plugin, t->model, batch, &output, aux, &n_aux);
    else if (st == IE_OK)
        st = ie_plugin_forward(t->plugin, t->model, batch, true, &output);
    if (st == IE_OK && t->train.deep_supervision)
        st = ie_deep_supervision_loss(output_loss, t, output, aux, n_aux, batch, loss);
    else if (st == IE_OK)
        st = output_loss(t, output, batch, loss);
    for (int i = 0; i < n_aux; i++) ie_tensor_release(aux[i]);
    if (st == IE_OK) {
        st = ie_backward(*loss);
        *not_finite = st == IE_ERR_NUMERIC;
    }
    ie_tensor_release(output);
    return st;
}

/* One step on the whole batch in this process: the path of every run whose
 * micro-batch is the batch. */
static ie_status plain_step(trainer *t, ie_loader *loader, int epoch, int step, float *value) {
    ie_batch batch = {.struct_size = sizeof batch};
    bool got = false, not_finite = false;
    ie_tensor *loss = NULL;
    ie_status st = ie_loader_next(loader, &batch, &got);
    if (st == IE_OK && !got) st = ie_error_set(IE_ERR_INTERNAL, "the loader ended the epoch before step %d", step + 1);
    if (st == IE_OK) st = forward_backward(t, &batch, epoch, &loss, &not_finite);
    if (st == IE_OK) st = ie_optimizer_step(t->opt);
    /* The loss is read once the whole step is queued: on a device, this copy
     * is the step's one wait, and it does not hold back backward. */
    if (st == IE_OK || not_finite) {
        *value = NAN;
        ie_status read = ie_tensor_read_item(loss, value);
        if (read != IE_OK && !not_finite) st = read;
        if (not_finite || (read == IE_OK && !isfinite(*value))) st = not_finite_error(t, epoch, step, *value);
    }
    ie_tensor_release(loss);
    ie_batch_clear(&batch);
    return st;
}

/* Micro-batches of global batch `step` (the last batch of an epoch may be
 * shorter) and its samples. */
static int step_micro_batches(const trainer *t, int step, int *samples) {
    int n_items = t->split.count[IE_SPLIT_TRAIN], rest = n_items - step * t->train.loader.batch_size;
    *samples = rest < t->train.loader.batch_size ? rest : t->train.loader.batch_size;
    return (*samples + t->train.micro_batch - 1) / t->train.micro_batch;
}

/* One step through the fixed tree (core/dist/tree.h): this rank's
 * micro-batches one by one, each packed as a leaf (the last one while its
 * backward runs, handing each finished bucket to the reduction:
 * core/dist/buckets.h), then the rest of the reduction, whose root every
 * rank applies with the same optimiser step.
 *
 * Buffers (batch-norm running statistics and counters): a micro-batch's
 * forward updates them, which would make them depend on which micro-batches
 * a process ran.  The rule: micro-batch 0 of the step updates them, the
 * others' updates are undone, and the owner of micro-batch 0 sends them to
 * every rank after the step (what DistributedDataParallel's
 * broadcast_buffers does with rank 0's).  In training mode a forward never
 * reads them, so this changes no gradient. */
/* Fault injection for the tests of docs/distributed.md ("Faults"):
 * INNEREYE_TEST_FAULT=RANK:STEP:exit|hang makes rank RANK die (SIGKILL) or
 * hang before global step STEP (counting from 1). */
static void injected_fault(const trainer *t) {
    const char *spec = getenv("INNEREYE_TEST_FAULT");
    int rank = -1;
    long long step = -1;
    char kind[8] = "";
    if (!spec || sscanf(spec, "%d:%lld:%7s", &rank, &step, kind) != 3) return;
    if (rank != t->rank || step != (long long)t->state.global_step + 1) return;
    fprintf(stderr, "rank %d: INNEREYE_TEST_FAULT: %s before step %lld\n", rank, kind, step);
    if (!strcmp(kind, "exit")) raise(SIGKILL);
    while (!strcmp(kind, "hang")) pause();
}

/* Samples of micro-batch j of a step of `samples`. */
static int micro_batch_samples(const trainer *t, int samples, int j) {
    int micro = t->train.micro_batch, rest = samples - j * micro;
    return rest < micro ? rest : micro;
}

/* Synchronised batch norm (train.sync_batch_norm): this rank's micro-batches
 * run on their own threads, one at a time, meeting at every batch-norm layer
 * (core/dist/sync_norm.h); each packs its leaf as in the loop of
 * distributed_step.  The buffers: only micro-batch 0's forward updates them,
 * with the step's statistics. */
typedef struct sync_step {
    trainer *t;
    ie_step_reduce *reduce;
    int epoch, lo, samples;
    ie_batch *batches;
    ie_status *loaded;
    ie_status failure; /* this rank's first failure, its text in message */
    char message[2048];
} sync_step;

static void note_failure(sync_step *s, ie_status st) {
    if (s->failure != IE_OK) return;
    s->failure = st;
    snprintf(s->message, sizeof s->message, "%s", ie_error_message());
    if (s->t->ranks > 1) fprintf(stderr, "rank %d: %s\n", s->t->rank, s->message);
}

/* Micro-batch j's leaf when its packer could not start: failed, no
 * gradient (that packing cannot fail), and every bucket handed over. */
static void pack_failed_leaf(trainer *t, ie_step_reduce *reduce, int j, float weight, float loss_value) {
    ie_grads_pack(t->params, &t->layout, weight, loss_value, true, ie_step_reduce_leaf(reduce, j));
    for (int k = 0; k < t->buckets.count; k++) ie_step_reduce_ready(reduce, j, k);
}

static ie_status sync_micro_batch(void *ctx, int j) {
    sync_step *s = ctx;
    trainer *t = s->t;
    float weight = (float)micro_batch_samples(t, s->samples, j) / (float)s->samples, loss_value = NAN;
    ie_tensor *loss = NULL;
    bool not_finite = false;
    ie_status st = s->loaded[j - s->lo];
    /* Packed as backward goes, on this micro-batch's thread (autograd's hook
     * is per thread), while its gradients are swapped in. */
    ie_leaf_packer *packer = NULL;
    ie_status began = ie_leaf_packer_begin(s->reduce, j, t->params, &t->layout, &t->buckets, weight, &packer);
    if (st == IE_OK) st = began;
    if (st == IE_OK) st = forward_backward(t, &s->batches[j - s->lo], s->epoch, &loss, &not_finite);
    not_finite = not_finite || st == IE_ERR_NUMERIC; /* here or in another micro-batch: travels as NaN */
    if (st == IE_OK) st = ie_tensor_read_item(loss, &loss_value);
    if (not_finite) loss_value = NAN;
    bool failed = st != IE_OK && !not_finite;
    if (failed) note_failure(s, st);
    if (packer) ie_leaf_packer_end(packer, loss_value, failed);
    else pack_failed_leaf(t, s->reduce, j, weight, loss_value);
    ie_optimizer_zero_grad(t->opt); /* they are in the leaf now */
    ie_tensor_release(loss);
    return failed ? st : not_finite ? IE_ERR_NUMERIC : IE_OK;
}

static ie_status sync_micro_batches(trainer *t, ie_step_reduce *reduce, ie_loader *loader, int epoch, int step,
                                    int count, int samples, int lo, int hi, ie_status *local, char *message,
                                    size_t message_size) {
    int k = hi - lo;
    sync_step s = {.t = t, .reduce = reduce, .epoch = epoch, .lo = lo, .samples = samples};
    s.batches = calloc((size_t)(k ? k : 1), sizeof *s.batches);
    s.loaded = calloc((size_t)(k ? k : 1), sizeof *s.loaded);
    ie_status *results = calloc((size_t)(k ? k : 1), sizeof *results);
    double *weights = malloc((size_t)count * sizeof *weights);
    ie_status st = s.batches && s.loaded && results && weights
                       ? IE_OK
                       : ie_error_set(IE_ERR_NOMEM, "out of memory for the %d micro-batches of a step", k);
    for (int j = 0; st == IE_OK && j < count; j++)
        weights[j] = (double)((float)micro_batch_samples(t, samples, j) / (float)samples);
    /* Loaded first, in order: all of them are alive together anyway. */
    for (int i = 0; st == IE_OK && i < k; i++) {
        s.batches[i].struct_size = sizeof s.batches[i];
        bool got = false;
        s.loaded[i] = s.failure != IE_OK ? s.failure : ie_loader_next(loader, &s.batches[i], &got);
        if (s.loaded[i] == IE_OK && !got)
            s.loaded[i] = ie_error_set(IE_ERR_INTERNAL, "the loader ended the epoch before micro-batch %d of step "
                                       "%d", lo + i, step + 1);
        if (s.loaded[i] != IE_OK) note_failure(&s, s.loaded[i]);
    }
    ie_sync_norm_opts o = {.comm = t->comm, .count = count, .weights = weights, .params = t->params};
    if (st == IE_OK) st = ie_sync_norm_run(&o, sync_micro_batch, &s, results);
    *local = s.failure;
    snprintf(message, message_size, "%s", s.message);
    for (int i = 0; s.batches && i < k; i++) ie_batch_clear(&s.batches[i]);
    free(s.batches);
    free(s.loaded);
    free(results);
    free(weights);
    return st;
}

static ie_status distributed_step(trainer *t, ie_loader *loader, int epoch, int step, float *value) {
    injected_fault(t);
    int samples, count = step_micro_batches(t, step, &samples), lo, hi;
    ie_dist_share(count, t->ranks, t->rank, &lo, &hi);
    size_t buffer_bytes = ie_buffers_size(t->params);
    ie_buffers_save(t->params, t->buffers);
    ie_status st = IE_OK, local = IE_OK;
    char local_message[2048] = "";
    /* The buckets are reduced in turn (core/dist/buckets.h); with overlap on
     * a thread that takes each micro-batch's buckets as soon as its backward
     * has made them final (combining them with this rank's earlier
     * micro-batches', sending what other ranks need) and finishes each
     * bucket once the last micro-batch has it.  This thread makes no MPI
     * call meanwhile; synchronised batch norm's micro-batch threads do, at
     * every batch-norm layer, beside it (the MPI module serialises the
     * calls, core/dist/mpi_module.c). */
    ie_step_reduce *reduce = NULL;
    IE_TRY(ie_step_reduce_start(t->comm, &t->buckets, count, t->leaves, t->layout.len, t->sum, t->train.dist_overlap,
                                &reduce));
    if (t->train.sync_batch_norm) {
        st = sync_micro_batches(t, reduce, loader, epoch, step, count, samples, lo, hi, &local, local_message,
                                sizeof local_message);
        if (st != IE_OK) {
            /* The threads did not run, or this rank stopped at a fault the
             * others cannot learn of: they wait at a batch-norm layer, and
             * the reduction would wait for them until dist.timeout_s.  The
             * job stops (tools/cmd_train.c), so its waits end now. */
            ie_comm_cancel(t->comm);
            double busy, waited;
            char message[2048];
            snprintf(message, sizeof message, "%s", ie_error_message());
            ie_step_reduce_finish(reduce, &busy, &waited);
            return ie_error_set(st, "%s", message);
        }
        ie_buffers_save(t->params, t->buffers);
    }
    for (int j = lo; !t->train.sync_batch_norm && j < hi; j++) {
        int n = micro_batch_samples(t, samples, j);
        float weight = (float)n / (float)samples, loss_value = NAN;
        ie_batch batch = {.struct_size = sizeof batch};
        bool got = false, not_finite = false;
        ie_tensor *loss = NULL;
        ie_leaf_packer *packer = NULL; /* the micro-batch's leaf, packed as backward goes */
        ie_status began = ie_leaf_packer_begin(reduce, j, t->params, &t->layout, &t->buckets, weight, &packer);
        if (local == IE_OK) local = began;
        if (local == IE_OK) local = ie_loader_next(loader, &batch, &got);
        if (local == IE_OK && !got)
            local = ie_error_set(IE_ERR_INTERNAL, "the loader ended the epoch before micro-batch %d of step %d", j,
                                 step + 1);
        if (local == IE_OK) local = forward_backward(t, &batch, epoch, &loss, &not_finite);
        if (local == IE_OK || not_finite) {
            ie_status read = ie_tensor_read_item(loss, &loss_value);
            local = read != IE_OK && !not_finite ? read : IE_OK; /* a non-finite loss travels as NaN */
            if (not_finite) loss_value = NAN;
        }
        if (local == IE_OK) {
            if (j == 0) ie_buffers_save(t->params, t->buffers);
            else ie_buffers_load(t->params, t->buffers);
        }
        if (local != IE_OK && !local_message[0]) {
            snprintf(local_message, sizeof local_message, "%s", ie_error_message());
            if (t->ranks > 1) fprintf(stderr, "rank %d: %s\n", t->rank, local_message);
        }
        if (packer) ie_leaf_packer_end(packer, loss_value, local != IE_OK);
        else pack_failed_leaf(t, reduce, j, weight, loss_value);
        ie_tensor_release(loss);
        ie_batch_clear(&batch);
    }
    float failed = 0;
    double busy = 0, waited = 0;
    st = ie_step_reduce_finish(reduce, &busy, &waited);
    t->exchange_seconds += waited;
    t->reduce_seconds += busy;
    t->exchanges++;
    if (st == IE_OK) st = ie_grads_unpack(t->params, &t->layout, t->sum, value, &failed);
    if (st == IE_OK && local != IE_OK) return ie_error_set(local, "%s", local_message);
    if (st == IE_OK && failed > 0)
        return ie_error_set(IE_ERR_STATE, "step %d of epoch %d failed on another rank (its message is above); "
                            "training stopped", step + 1, epoch + 1);
    if (st == IE_OK && !isfinite(*value)) return not_finite_error(t, epoch, step, *value);
    if (st == IE_OK) st = ie_optimizer_step(t->opt);
    if (st == IE_OK && t->ranks > 1) {
        char what[96];
        snprintf(what, sizeof what, "the batch-norm statistics of step %lld", (long long)t->state.global_step + 1);
        struct timespec exchange_start;
        clock_gettime(CLOCK_MONOTONIC, &exchange_start);
        st = ie_comm_bcast(t->comm, ie_dist_owner(count, t->ranks, 0), t->buffers, buffer_bytes, what);
        t->exchange_seconds += seconds_since(&exchange_start);
        if (st == IE_OK) ie_buffers_load(t->params, t->buffers);
    }
    return st;
}

static ie_status train_epoch(trainer *t, ie_loader *loader, int epoch, double *mean_loss) {
    IE_TRY(ie_loader_begin_epoch(loader, epoch));
    int batch = t->train.loader.batch_size, n_items = t->split.count[IE_SPLIT_TRAIN];
    int steps = (n_items + batch - 1) / batch, done = 0;
    double sum = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ie_status st = IE_OK;
    for (int step = 0; step < steps; step++) {
        float value = NAN;
        st = t->accumulate ? distributed_step(t, loader, epoch, step, &value)
                           : plain_step(t, loader, epoch, step, &value);
        if (st != IE_OK) break;
        sum += value;
        done++;
        t->state.global_step++;
        if (t->comm) ie_comm_set_progress(t->comm, (long long)t->state.global_step);
        show_progress(t, epoch + 1, done, steps, sum / done, seconds_since(&t0));
    }
    ie_loader_end_epoch(loader);
    if (t->progress) printf("\n");
    *mean_loss = done ? sum / done : NAN;
    return st;
}

/* The median stopping rule of sweeps: true when this trial should stop. */
static bool median_stop(trainer *t, int epoch) {
    if (!t->median.siblings[0] || epoch >= t->train.epochs) return false;
    char log[4200];
    if (ie_path_format(log, sizeof log, "%s/train_log.csv", t->run_dir) != IE_OK) return false; /* run_dir fits */
    double median, best = ie_train_log_best(log, t->median.metric, t->median.maximize, epoch, NULL);
    if (!ie_median_stop_check(&t->median, epoch, best, &median)) return false;
    printf("median stopping rule: best %s so far %.6g is worse than the finished trials' median %.6g at epoch %d; "
           "stopping\n", t->median.metric, best, median, epoch);
    cJSON_AddNumberToObject(t->record, "stopped_early_at_epoch", epoch);
    return true;
}

/* Micro-batching: the loader hands out micro-batches (batch b of its order is
 * micro-batch b % (B/b) of step b / (B/b)), only those of this rank's
 * shares; the leaves and the root get their memory once. */
static ie_status setup_accumulation(trainer *t, ie_loader_opts *lo, int **batches) {
    *batches = NULL;
    IE_TRY(ie_grad_layout_of(t->params, &t->layout));
    IE_TRY(ie_buckets_plan(t->params, &t->layout, (size_t)(t->train.dist_bucket_mb * 1048576.0), &t->buckets));
    int batch = t->train.loader.batch_size;
    int per_step = batch / t->train.micro_batch, steps = (lo->n_items + batch - 1) / batch;
    int most = 0, n = 0;
    *batches = malloc((size_t)steps * (size_t)per_step * sizeof **batches);
    if (!*batches) return ie_error_set(IE_ERR_NOMEM, "out of memory for %d micro-batches", steps * per_step);
    for (int step = 0; step < steps; step++) {
        int samples, count = step_micro_batches(t, step, &samples), first, end;
        ie_dist_share(count, t->ranks, t->rank, &first, &end);
        for (int j = first; j < end; j++) (*batches)[n++] = step * per_step + j;
        if (end - first > most) most = end - first;
    }
    lo->batch_size = t->train.micro_batch;
    lo->batches = *batches;
    lo->n_batches = n;
    t->leaves = malloc(((size_t)(most ? most : 1)) * t->layout.len * sizeof *t->leaves);
    t->sum = malloc(t->layout.len * sizeof *t->sum);
    size_t buffer_bytes = ie_buffers_size(t->params);
    t->buffers = malloc(buffer_bytes ? buffer_bytes : 1);
    if (!t->leaves || !t->sum || !t->buffers)
        return ie_error_set(IE_ERR_NOMEM, "out of memory for %d micro-batch gradients of %zu values", most,
                            t->layout.len);
    return IE_OK;
}

static ie_status train_loop(trainer *t, int stop_after) {
    ie_loader_opts lo = {.dataset = t->ds, .items = t->split.part[IE_SPLIT_TRAIN],
                         .n_items = t->split.count[IE_SPLIT_TRAIN], .batch_size = t->train.loader.batch_size,
                         .shuffle = true,
                         .seed = t->seed, .workers = t->train.loader.workers, .prefetch = t->train.loader.prefetch,
                         .cache_bytes = t->train.loader.cache_bytes, .host = &t->host, .hooks = data_hooks(t)};
    if (lo.n_items == 0)
        return ie_error_set(IE_ERR_CONFIG, "the training split is empty (%d subjects in %s); adjust data.split",
                            ie_dataset_count(t->ds), ie_dataset_path(t->ds));
    int *batches = NULL;
    ie_loader *loader = NULL;
    ie_status st = t->accumulate ? setup_accumulation(t, &lo, &batches) : IE_OK;
    if (st == IE_OK) st = ie_loader_create(&lo, &loader);
    free(batches);
    IE_TRY(st);
    for (int epoch = t->state.epoch; st == IE_OK && epoch < t->train.epochs; epoch++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        double lr = ie_lr_schedule_at(&t->schedule, epoch), train_loss = NAN, val_loss = NAN;
        ie_task_metrics metrics;
        t->task->metric_names(t->task_state, &metrics);
        st = ie_optimizer_set_lr(t->opt, lr);
        if (st == IE_OK) st = train_epoch(t, loader, epoch, &train_loss);
        if (st == IE_OK && t->split.count[IE_SPLIT_VAL] && (epoch + 1) % t->train.validate_every == 0)
            st = t->task->validate(t->task_state, &t->env, epoch + 1, &val_loss, &metrics);
        if (st == IE_OK && t->plugin->table.on_epoch_end)
            st = IE_GUARDED(t->plugin, "on_epoch_end", t->plugin->table.on_epoch_end(t->model, epoch, &t->host));
        double seconds = seconds_since(&t0);
        /* Only rank 0 writes into the run folder; the others computed the
         * same numbers (the same weights, the same validation). */
        if (st == IE_OK && !t->env.follower) st = append_log(t, epoch + 1, lr, train_loss, val_loss, &metrics, seconds);
        if (st != IE_OK) break;
        if (!t->env.follower) ie_mlflow_log(t->run_dir, "RUNNING"); /* AzureML job / MLflow server only */
        t->state.epoch = epoch + 1;
        t->state.lr = lr;
        printf("epoch %d/%d  lr %.3g  train loss %.4f  val loss %.4f", epoch + 1, t->train.epochs, lr, train_loss,
               val_loss);
        for (int c = 0; c < metrics.count; c++) printf("  %s %.3f", metrics.label[c], metrics.value[c]);
        printf("  (%.1f s)\n", seconds);
        fflush(stdout);
        bool stop_early = st == IE_OK && !t->env.follower && median_stop(t, epoch + 1);
        if (t->ranks > 1) { /* rank 0 read the logs the rule compares: it decides for all */
            unsigned char stop = stop_early;
            st = ie_comm_bcast(t->comm, 0, &stop, 1, "the median stopping decision");
            stop_early = stop;
        }
        if (st == IE_OK && ((epoch + 1) % t->train.checkpoint_every == 0 || epoch + 1 == t->train.epochs || stop_early))
            st = checkpoint(t);
        if (stop_early) break;
        if (stop_after > 0 && epoch + 1 >= stop_after && epoch + 1 < t->train.epochs) {
            ie_loader_free(loader);
            return ie_error_set(IE_ERR_STATE, "stopped after epoch %d as requested", epoch + 1);
        }
    }
    /* Rank 0's view: waiting for others counts as exchange. */
    if (st == IE_OK && t->accumulate && t->exchanges > 0)
        printf("gradient exchange: %.2f ms per step on average after backward (the reduction ran %.2f ms; %lld "
               "steps, %zu values of %.1f KB in %d buckets, %s, %d processes); it includes waiting for the slowest "
               "rank\n",
               1e3 * t->exchange_seconds / (double)t->exchanges, 1e3 * t->reduce_seconds / (double)t->exchanges,
               t->exchanges, t->layout.len, (double)t->layout.len * sizeof(float) / 1024.0, t->buckets.count,
               t->train.dist_overlap ? "overlapped with backward" : "after backward", t->ranks);
    ie_loader_stats cache;
    ie_loader_get_stats(loader, &cache);
    if (st == IE_OK && cache.loads + cache.cache_hits > 0) /* normalised volumes kept between epochs (data.cache_mb) */
        printf("data cache: %d subjects held (%.1f MB), %.0f%% of %llu training loads served from memory\n",
               cache.cached_items, (double)cache.cache_bytes / 1048576.0,
               100.0 * (double)cache.cache_hits / (double)(cache.loads + cache.cache_hits),
               (unsigned long long)(cache.loads + cache.cache_hits));
    ie_loader_free(loader);
    return st;
}

/* ------------------------------------------------------------- the run */

/* Writes run.json, and gives the fault handlers (core/plugin/guard.h) the
 * text they write if the process dies before the next write. */
static ie_status record_write(trainer *t) {
    IE_TRY(ie_run_record_write(t->run_dir, t->record));
    cJSON *pending = cJSON_Duplicate(t->record, 1);
    static const char *const outcome[] = {"status", "error", "end_time", "crashed", "interrupted"};
    for (size_t i = 0; pending && i < sizeof outcome / sizeof outcome[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(pending, outcome[i]);
    char *text = pending ? cJSON_Print(pending) : NULL;
    ie_guard_set_record(text);
    free(text);
    cJSON_Delete(pending);
    return IE_OK;
}

/* Who is running the run now, for messages when another process finds it
 * locked (run_dir.c) and for innereye status. */
/* run.json's "device": where the run computes, its precision and, on a
 * GPU, what the backend says of itself (backend->describe: GPU, SM count,
 * driver, CUDA / cuDNN versions, the convolution engines chosen so far).
 * Rewritten at the start and the end of a run, so the engines are there. */
static void record_device(trainer *t) {
    cJSON_DeleteItemFromObjectCaseSensitive(t->record, "device");
    cJSON *dev = cJSON_AddObjectToObject(t->record, "device");
    if (!dev) return;
    cJSON_AddStringToObject(dev, "kind", ie_device_name(t->train.device.device));
    cJSON_AddStringToObject(dev, "precision", ie_precision_name(t->train.device.precision));
    const ie_backend *be = ie_backend_loaded(t->train.device.device);
    ie_device_ctx *ctx;
    char *json = NULL;
    char saved[2048];
    snprintf(saved, sizeof saved, "%s", ie_error_message());
    if (be && be->describe && ie_device_ctx_get("run.json", t->train.device.device, &ctx) == IE_OK &&
        be->describe(ctx, &json) == IE_OK) {
        cJSON *d = cJSON_Parse(json);
        if (d) cJSON_AddItemToObject(dev, "backend", d);
    }
    free(json);
    ie_error_set(IE_OK, "%s", saved); /* a missing description never replaces the run's own error */
}

static void record_process(trainer *t, const char *now) {
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    cJSON_DeleteItemFromObjectCaseSensitive(t->record, "pid");
    cJSON_DeleteItemFromObjectCaseSensitive(t->record, "host");
    cJSON_DeleteItemFromObjectCaseSensitive(t->record, "running_since");
    cJSON_AddNumberToObject(t->record, "pid", (double)getpid());
    /* Data-parallel processes of this attempt (rank 0's pid above); they
     * never change results (docs/distributed.md). */
    cJSON_DeleteItemFromObjectCaseSensitive(t->record, "processes");
    cJSON_AddNumberToObject(t->record, "processes", t->ranks);
    cJSON_AddStringToObject(t->record, "host", host);
    cJSON_AddStringToObject(t->record, "running_since", now);
}

/* A new run: written as soon as its folder exists, so that every run folder
 * says what became of it (a failure writes status "failed" and the error). */
static ie_status record_start(trainer *t) {
    char now[32];
    ie_utc_now(now, sizeof now);
    t->record = cJSON_CreateObject();
    cJSON_AddStringToObject(t->record, "status", "running");
    cJSON_AddStringToObject(t->record, "start_time", now);
    record_process(t, now);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->seed);
    cJSON_AddStringToObject(t->record, "seed", seed);
    cJSON_AddStringToObject(t->record, "config_sha256", t->config_sha);
    cJSON *plugin = cJSON_AddObjectToObject(t->record, "plugin");
    cJSON_AddStringToObject(plugin, "name", t->plugin->table.name);
    cJSON_AddStringToObject(plugin, "version", t->plugin->table.version);
    cJSON_AddStringToObject(plugin, "path", t->plugin->path);
    cJSON_AddStringToObject(plugin, "sha256", t->plugin->sha256);
    /* The task entry the run trains as (the plugin's kind, or the target
     * its config names): what innereye runs and show call it. */
    cJSON_AddStringToObject(t->record, "task", t->task->name);
    ie_provenance_add(t->record);
    record_device(t);
    return record_write(t);
}

/* A resumed run: the record read when the resume was checked, with this
 * resume added.  How the previous attempt ended moves into the resume's
 * entry, so the top level describes this attempt only. */
static ie_status record_resume(trainer *t, cJSON *record, const char *const *set, int n_set) {
    char now[32];
    ie_utc_now(now, sizeof now);
    t->record = record;
    cJSON *resumes = cJSON_GetObjectItem(t->record, "resumed");
    if (!resumes) resumes = cJSON_AddArrayToObject(t->record, "resumed");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "time", now);
    cJSON_AddNumberToObject(r, "from_epoch", t->state.epoch);
    cJSON_AddNumberToObject(r, "threads", ie_threads_get());
    if (n_set > 0) {
        cJSON *changes = cJSON_AddArrayToObject(r, "set");
        for (int i = 0; i < n_set; i++) cJSON_AddItemToArray(changes, cJSON_CreateString(set[i]));
    }
    static const char *const previous[] = {"status", "error", "end_time", "crashed", "interrupted"};
    cJSON *before = cJSON_AddObjectToObject(r, "previous");
    for (size_t i = 0; i < sizeof previous / sizeof previous[0]; i++) {
        cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(t->record, previous[i]);
        if (item) cJSON_AddItemToObject(before, previous[i], item);
    }
    cJSON_AddItemToArray(resumes, r);
    cJSON_AddStringToObject(t->record, "status", "running");
    record_process(t, now);
    return record_write(t);
}

/* The file columns whose files run.json hashes: filePath and, for
 * classification and regression, data.scalar.image_columns. */
static ie_status data_columns(trainer *t, const char *columns[17], int *n) {
    ie_scalar_settings *scalar = malloc(sizeof *scalar);
    if (!scalar) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = ie_scalar_settings_read(t->cfg, scalar);
    if (st == IE_OK) st = ie_data_settings_check_count("data.scalar.image_columns", scalar->n_image_columns, 16);
    if (st == IE_OK) {
        columns[0] = "filePath";
        memcpy(columns + 1, scalar->image_columns, (size_t)scalar->n_image_columns * sizeof *columns);
        *n = scalar->n_image_columns + 1;
    }
    free(scalar);
    return st;
}

/* SHA-256 of the dataset CSV, every file it lists and split.csv. */
static ie_status record_data(trainer *t, const char *note) {
    cJSON *data = cJSON_AddObjectToObject(t->record, "data");
    cJSON_AddStringToObject(data, "source", note);
    char hex[65], split[4200];
    IE_TRY(ie_sha256_file_hex(ie_dataset_path(t->ds), hex));
    cJSON_AddStringToObject(data, "dataset_csv", ie_dataset_path(t->ds));
    cJSON_AddStringToObject(data, "dataset_csv_sha256", hex);
    IE_TRY(ie_path_format(split, sizeof split, "%s/split.csv", t->run_dir));
    IE_TRY(ie_sha256_file_hex(split, hex));
    cJSON_AddStringToObject(data, "split_csv_sha256", hex);
    const char *columns[17];
    int n_columns = 0;
    IE_TRY(data_columns(t, columns, &n_columns));
    IE_TRY(ie_data_hash_files(t->ds, columns, n_columns, cJSON_AddObjectToObject(data, "files_sha256")));
    if (t->init_sha[0]) { /* model.init_checkpoint */
        cJSON *init = cJSON_AddObjectToObject(t->record, "init_checkpoint");
        cJSON_AddStringToObject(init, "path", t->model_settings.init_checkpoint);
        cJSON_AddStringToObject(init, "sha256", t->init_sha);
    }
    return record_write(t);
}

static ie_status record_end(trainer *t, ie_status st) {
    record_device(t);
    char now[32];
    ie_utc_now(now, sizeof now);
    cJSON_DeleteItemFromObject(t->record, "end_time");
    cJSON_AddStringToObject(t->record, "end_time", now);
    cJSON_DeleteItemFromObject(t->record, "status");
    cJSON_AddStringToObject(t->record, "status", st == IE_OK ? "finished" : "failed");
    if (st != IE_OK) {
        cJSON_DeleteItemFromObject(t->record, "error");
        cJSON_AddStringToObject(t->record, "error", ie_error_message());
    }
    char message[2048];
    snprintf(message, sizeof message, "%s", ie_error_message()); /* writing must not lose the run's error */
    ie_status w = ie_run_record_write(t->run_dir, t->record);
    ie_mlflow_log(t->run_dir, st == IE_OK ? "FINISHED" : "FAILED"); /* AzureML job / MLflow server only */
    if (st != IE_OK) ie_error_set(st, "%s", message);
    return st != IE_OK ? st : w;
}

/* The run's own config, with the --set values a resume may take; the hash
 * checkpoints are compared with is the file's, which those values do not
 * change (they never change results). */
static ie_status load_resumed_config(trainer *t, const ie_train_request *req) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", req->resume_dir));
    ie_config *file = NULL;
    ie_status st = ie_config_new(&file);
    if (st == IE_OK) st = ie_config_add_file(file, path);
    if (st == IE_OK) st = ie_config_resolve(file);
    if (st == IE_OK) st = ie_config_sha256(file, t->config_sha);
    ie_config_free(file);
    IE_TRY(st);
    IE_TRY(ie_config_new(&t->cfg));
    t->owns_cfg = true;
    IE_TRY(ie_config_add_file(t->cfg, path));
    for (int i = 0; i < req->n_resume_set; i++) {
        char key[256];
        const char *eq = strchr(req->resume_set[i], '=');
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - req->resume_set[i]) : 0, req->resume_set[i]);
        if (!ie_resume_key_allowed(key))
            return ie_error_set(IE_ERR_CONFIG, "--set %s: a resumed run keeps its configuration; only %s may be set "
                                "(they never change results)", req->resume_set[i], IE_RESUME_KEYS);
        IE_TRY(ie_config_set(t->cfg, req->resume_set[i], "--set"));
    }
    if (ie_config_resolve(t->cfg) != IE_OK)
        return ie_error_set(IE_ERR_CONFIG, "the configuration has problems:\n%s", ie_config_problems(t->cfg));
    return IE_OK;
}

/* The checks a resume passes before it changes anything in the run folder:
 * the run is not finished, and its data and split are what it started
 * with. */
static ie_status check_resume(trainer *t, const cJSON *record) {
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "status"));
    if (status && !strcmp(status, "finished")) {
        ie_trainer_state last = {0};
        char path[4300], *text = NULL;
        IE_TRY(ie_path_format(path, sizeof path, "%s/checkpoints/last.json", t->run_dir));
        if (ie_read_file(path, &text, NULL) == IE_OK) {
            cJSON *j = cJSON_Parse(text);
            cJSON *e = cJSON_GetObjectItem(j, "epoch");
            if (cJSON_IsNumber(e)) last.epoch = e->valueint;
            cJSON_Delete(j);
            free(text);
        }
        return ie_error_set(IE_ERR_STATE, "run %s finished (run.json); there is nothing to resume and its results "
                            "stay as they are. To train on, start a new run from its weights: --set "
                            "model.init_checkpoint=%s/checkpoints/epoch_%04d.safetensors", t->run_dir, t->run_dir,
                            last.epoch);
    }
    const char *columns[17];
    int n_columns = 0;
    IE_TRY(data_columns(t, columns, &n_columns));
    return ie_resume_check_data(record, t->ds, columns, n_columns, t->run_dir);
}

static void trainer_free(trainer *t) {
    free(t->leaves);
    ie_buckets_free(&t->buckets);
    free(t->sum);
    free(t->buffers);
    if (t->task && t->task_state) t->task->destroy(t->task_state);
    if (t->record) cJSON_Delete(t->record);
    ie_optimizer_free(t->opt);
    ie_loss_spec_clear(&t->loss);
    if (t->model) {
        ie_guard_enter(t->plugin, "destroy");
        t->plugin->table.destroy(t->model);
        ie_guard_leave();
    }
    ie_plugin_unload(t->plugin);
    ie_split_free(&t->split);
    ie_dataset_free(t->ds);
    if (t->owns_cfg) ie_config_free(t->cfg);
    ie_run_dir_unlock(t->lock_fd);
}

/* What rank 0 tells the other processes once the run folder is set up (or
 * setting it up failed). */
typedef struct announcement {
    char run_dir[4096];
    int32_t ok, resumed;
} announcement;

/* Rank 0 prepares the run folder alone (new or resumed, with every check);
 * the other ranks wait for it, then read what they need from it (the
 * resolved config, the split, the checkpoint) and write nothing there. */
static ie_status announce(trainer *t, ie_status st, bool resume) {
    if (t->ranks == 1) return st;
    announcement a = {.ok = st == IE_OK, .resumed = resume};
    snprintf(a.run_dir, sizeof a.run_dir, "%s", t->run_dir);
    char message[2048];
    snprintf(message, sizeof message, "%s", ie_error_message());
    ie_status sent = ie_comm_bcast(t->comm, 0, &a, sizeof a, "the run folder");
    if (st != IE_OK) return ie_error_set(st, "%s", message);
    return sent;
}

static ie_status await_announcement(trainer *t, announcement *a, bool *resume) {
    ie_status st = ie_comm_bcast(t->comm, 0, a, sizeof *a, "the run folder (rank 0 sets it up first)");
    if (st != IE_OK) return st;
    a->run_dir[sizeof a->run_dir - 1] = '\0';
    if (!a->ok) return ie_error_set(IE_ERR_STATE, "rank %d: rank 0 could not set up the run (its message says why)",
                                    t->rank);
    snprintf(t->run_dir, sizeof t->run_dir, "%s", a->run_dir);
    *resume = a->resumed;
    return IE_OK;
}

/* `text` with every occurrence of `from` replaced by `to` (what fits). */
static void replace_all(char *text, size_t size, const char *from, const char *to) {
    char out[4400];
    size_t n = 0, from_len = strlen(from);
    for (const char *p = text; *p && n + 1 < sizeof out;) {
        if (from_len && !strncmp(p, from, from_len)) {
            n += (size_t)snprintf(out + n, sizeof out - n, "%s", to);
            p += from_len;
        } else {
            out[n++] = *p++;
        }
    }
    out[n < sizeof out ? n : sizeof out - 1] = '\0';
    snprintf(text, size, "%s", out);
}

/* The staging folder of a new run becomes its run folder; what named the
 * staging folder (the run_dir string the task and plugins borrow, the
 * dataset CSV built in it, the data note, the fault handlers' run.json)
 * names the run folder from here on. */
static ie_status commit_run_dir(trainer *t, const char *out_dir, const char *name, const char *prefix, char *note,
                                size_t note_size) {
    char staging[sizeof t->run_dir], final[sizeof t->run_dir];
    snprintf(staging, sizeof staging, "%s", t->run_dir);
    IE_TRY(ie_run_dir_commit(staging, out_dir, name, prefix, final, sizeof final));
    snprintf(t->run_dir, sizeof t->run_dir, "%s", final);
    const char *csv = ie_dataset_path(t->ds);
    size_t len = strlen(staging);
    if (!strncmp(csv, staging, len) && csv[len] == '/') {
        char moved[8400];
        snprintf(moved, sizeof moved, "%s%s", final, csv + len);
        IE_TRY(ie_dataset_moved(t->ds, moved));
    }
    replace_all(note, note_size, staging, final);
    ie_guard_begin("training", t->run_dir);
    return IE_OK;
}

ie_status ie_train(const ie_train_request *req, char *run_dir, size_t run_dir_size) {
    if (!req->tasks)
        return ie_error_set(IE_ERR_INVALID_ARG, "ie_train: the request has no task table (request.tasks); the "
                            "caller passes core/task's (&ie_all_tasks, core/task/task.h)");
    trainer t = {.lock_fd = -1, .comm = req->comm, .rank = ie_comm_rank(req->comm), .ranks = ie_comm_size(req->comm)};
    bool resume = req->resume_dir != NULL, follower = t.rank != 0;
    t.env.follower = follower;
    /* Plugins run from here on (validate_config, create): a crash or exit()
     * in one is reported even before the run folder exists. */
    ie_guard_begin("training", NULL);
    cJSON *resume_record = NULL; /* run.json as the stopped run left it */
    ie_status st = IE_OK;
    if (follower) {
        announcement a;
        /* Setting up (hashing the data files) may take longer than a step. */
        if (t.comm) ie_comm_set_timeout(t.comm, 3600);
        st = await_announcement(&t, &a, &resume);
        ie_train_request as_resume = *req;
        as_resume.resume_dir = t.run_dir;
        if (st == IE_OK) st = load_resumed_config(&t, &as_resume);
    } else if (resume && strlen(req->resume_dir) > IE_RUN_DIR_MAX) {
        st = ie_error_set(IE_ERR_CONFIG, "--resume %s: the path is longer than a run folder's %d bytes; move or "
                          "link the run folder to a shorter path", req->resume_dir, IE_RUN_DIR_MAX);
    } else if (resume) {
        st = ie_path_format(t.run_dir, sizeof t.run_dir, "%s", req->resume_dir);
        /* First of all: no other process may be working in it. */
        if (st == IE_OK) st = ie_run_dir_lock(t.run_dir, &t.lock_fd);
        if (st == IE_OK && ie_run_record_read(t.run_dir, &resume_record) != IE_OK) {
            fprintf(stderr, "warning: %s; the run's data cannot be checked against it\n", ie_error_message());
            resume_record = cJSON_CreateObject();
        }
        if (st == IE_OK) st = load_resumed_config(&t, req);
    } else {
        t.cfg = req->config;
    }
    if (st == IE_OK) st = ie_compute_setup(t.cfg, req->threads_override);
    t.progress = isatty(STDOUT_FILENO);
    char resumed_sha[65];
    snprintf(resumed_sha, sizeof resumed_sha, "%s", t.config_sha);
    if (st == IE_OK) st = read_settings(&t);
    t.accumulate = t.train.micro_batch != t.train.loader.batch_size || t.ranks > 1 || t.train.sync_batch_norm;
    if (resume) snprintf(t.config_sha, sizeof t.config_sha, "%s", resumed_sha); /* the file's, not the overrides' */
    if (st == IE_OK) st = load_plugin(&t);
    if (st == IE_OK) t.task = req->tasks->for_run(t.plugin->table.task, t.cfg);
    /* Settings are checked before a run folder exists, so a bad value leaves
     * nothing behind. */
    if (st == IE_OK && t.task->check_config) st = t.task->check_config(t.cfg);
    if (st == IE_OK && t.train.deep_supervision && !t.plugin->table.forward_deep)
        st = ie_error_set(IE_ERR_CONFIG,
                          "train.deep_supervision is true, but model %s (%s, plugin ABI %u.%u) has no auxiliary "
                          "outputs (forward_deep, plugin ABI 1.4); set train.deep_supervision to false or use a "
                          "model that has them (UNet3D)",
                          t.plugin->table.name, t.plugin->path, t.plugin->table.abi_major, t.plugin->table.abi_minor);
    if (st == IE_OK) st = ie_loss_spec_from_config(t.cfg, &t.loss);
    if (st == IE_OK) st = ie_optim_setup_from_config(t.cfg, t.train.epochs, &t.opt_opts, &t.schedule);
    /* A missing GPU (module, driver, device) is found before the run folder. */
    if (st == IE_OK) st = select_device(&t);
    /* A new run works in a staging folder until every check passed; then
     * it is renamed into place (core/run/run_dir.h). */
    const char *out_dir = t.run_settings.output_dir, *name = t.run_settings.name;
    char problems[sizeof t.run_dir + 64];
    snprintf(problems, sizeof problems, "%s/data_problems.txt", t.run_dir); /* a resume's; sized from t.run_dir */
    bool staged = false;
    const char *prefix = req->name_prefix ? req->name_prefix : t.plugin ? t.plugin->table.name : "";
    if (st == IE_OK && !resume && !follower) {
        st = ie_run_dir_stage(out_dir, name, prefix, t.run_dir, sizeof t.run_dir);
        staged = st == IE_OK; /* only a folder this process made may be removed below */
        ie_status named = ie_run_dir_problems_path(out_dir, name, prefix, problems, sizeof problems);
        if (st == IE_OK) st = named;
        if (st == IE_OK) st = ie_run_dir_lock(t.run_dir, &t.lock_fd);
        if (st == IE_OK) {
            char path[4200];
            const char *text = ie_config_text_pretty(t.cfg);
            st = ie_path_format(path, sizeof path, "%s/config.resolved.json", t.run_dir);
            if (st == IE_OK) st = ie_write_file_atomic(path, text, strlen(text));
        }
        if (st == IE_OK) st = record_start(&t);
    }
    char note[4400] = "", checkpoint_note[1400] = "";
    if (st == IE_OK) st = ie_data_prepare(t.cfg, t.run_dir, resume || follower, &t.ds, note, sizeof note);
    if (st == IE_OK && resume && !follower) st = check_resume(&t, resume_record);
    t.env = (ie_task_env){.cfg = t.cfg, .run = &t.run_settings, .cv = &t.cv, .run_dir = t.run_dir,
                          .problems_path = problems, .ds = t.ds, .split = &t.split, .plugin = t.plugin,
                          .host = &t.host, .loss = &t.loss, .seed = t.seed, .train = &t.train,
                          .follower = follower};
    if (st == IE_OK && t.task->check_data) st = t.task->check_data(&t.env);
    if (st == IE_OK) st = ie_data_split(t.cfg, t.ds, t.run_dir, resume || follower, &t.split);
    if (st == IE_OK) {
        init_host(&t);
        st = t.task->setup(&t.env, &t.task_state);
    }
    if (st == IE_OK) st = create_model(&t);
    if (st == IE_OK && !resume) st = load_init_checkpoint(&t);
    if (st == IE_OK && resume)
        st = ie_checkpoint_load_latest(t.run_dir, &t.state, t.params, t.opt, checkpoint_note, sizeof checkpoint_note);
    if (st == IE_OK && resume && strcmp(t.state.config_sha256, t.config_sha) != 0)
        st = ie_error_set(IE_ERR_STATE, "%s: the checkpoint was written with another configuration (sha256 %.12s, "
                                        "config.resolved.json now %.12s): put the run's own config.resolved.json "
                                        "back, or start a new run",
                          t.run_dir, t.state.config_sha256, t.config_sha);
    if (st == IE_OK && !resume) {
        t.state.seed = t.seed;
        snprintf(t.state.config_sha256, sizeof t.state.config_sha256, "%s", t.config_sha);
    }
    if (st == IE_OK && follower) t.checkpoint_epoch = t.state.epoch;
    if (st == IE_OK && resume && !follower) {
        /* From here on the run folder is changed: the resume is accepted. */
        t.checkpoint_epoch = t.state.epoch;
        ie_guard_begin("training", t.run_dir);
        int removed = ie_resume_remove_temporaries(t.run_dir);
        if (removed) printf("removed %d temporary file%s that an interrupted process left in %s\n", removed,
                            removed == 1 ? "" : "s", t.run_dir);
        if (checkpoint_note[0]) fprintf(stderr, "warning: %s\n", checkpoint_note);
        st = record_resume(&t, resume_record, req->resume_set, req->n_resume_set);
        resume_record = NULL;
    }
    /* Every check passed: the checks of an experiment's child end here
     * (their staging folder goes below), a new run's folder takes its place. */
    if (st == IE_OK && req->check_only) {
        if (staged) unlink(problems); /* an earlier attempt's list, no longer true */
        goto checked;
    }
    if (st == IE_OK && staged) {
        st = commit_run_dir(&t, out_dir, name, prefix, note, sizeof note);
        staged = st != IE_OK;
        if (!staged) unlink(problems); /* an earlier attempt's list, no longer true */
    }
    if (st == IE_OK && !resume && !follower) st = record_data(&t, note);
    if (st == IE_OK) {
        printf("run folder: %s\n%s\nmodel %s %s (%s); %d train / %d val / %d test subjects; %d threads\n", t.run_dir,
               note, t.plugin->table.name, t.plugin->table.version, t.plugin->path,
               t.split.count[IE_SPLIT_TRAIN], t.split.count[IE_SPLIT_VAL], t.split.count[IE_SPLIT_TEST],
               ie_threads_get());
        if (t.accumulate)
            printf("%d processes (%s); steps of %d micro-batches of %d samples, summed in a fixed tree%s\n",
                   t.ranks, ie_comm_describe(t.comm), t.train.loader.batch_size / t.train.micro_batch,
                   t.train.micro_batch,
                   t.train.sync_batch_norm ? "; batch norm synchronised over the step" : "");
        if (resume) printf("resuming after epoch %d of %d\n", t.state.epoch, t.train.epochs);
    }
    if (st == IE_OK) st = ie_median_stop_from_config(t.cfg, t.run_dir, &t.median);
    if (st == IE_OK && !follower) st = open_log(&t, resume);
    if (!follower) st = announce(&t, st, resume);
    if (t.comm) ie_comm_set_timeout(t.comm, t.train.dist_timeout_s);
    if (st == IE_OK && t.run_settings.train) st = train_loop(&t, req->stop_after_epochs);
    if (st == IE_OK && !follower) { /* test inference writes predictions: rank 0's work */
        ie_guard_progress(0, 0, t.checkpoint_epoch);
        st = t.task->infer(t.task_state, &t.env, t.state.epoch, t.record);
    }
checked:;
    /* A new run that failed a check before training began never had a run
     * folder: its staging folder goes (the data check's list of problems is
     * beside it, in `problems`; docs/errors.md), as does that of checks only. */
    char folder[sizeof t.run_dir];
    memcpy(folder, t.run_dir, sizeof folder); /* sized from t.run_dir: nothing is cut */
    /* innereye train's exit code is that of a run */
    ie_status fits = ie_path_format(run_dir, run_dir_size, "%s", t.run_dir);
    if (st == IE_OK) st = fits;
    if (t.record && !staged) st = record_end(&t, st);
    cJSON_Delete(resume_record);
    trainer_free(&t); /* releases the folder's lock */
    ie_guard_end();
    if (staged) {
        char message[2048];
        snprintf(message, sizeof message, "%s", ie_error_message());
        ie_remove_tree(folder);
        if (st != IE_OK)
            ie_error_set(st, "%s\n(the run stopped before training began, so no run folder was made)", message);
    }
    return st;
}
