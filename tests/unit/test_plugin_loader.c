/* Plugin loader: each deliberately broken plugin is refused with a message
 * naming the file and the fault (both ABI versions where they are the
 * fault), a plugin built against the frozen ABI 1.0 header loads and runs on
 * this 1.2 host, failures inside create/forward reach the caller in the
 * plugin's own words, and plugins are found by path and by name. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plugin/loader.h"
#include "test_util.h"

static char path_buf[PATH_MAX];

/* build/lib/test-plugins/lib<name>.so */
static const char *plugin_path(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/lib%s.so", IE_TEST_PLUGIN_DIR, name);
    return path_buf;
}

static bool contains(const char *text, const char *needle) { return strstr(text, needle) != NULL; }

/* The load must fail with IE_ERR_PLUGIN, name the file and say `needle`. */
static void check_refused(const char *name, const char *needle) {
    const char *path = plugin_path(name);
    ie_loaded_plugin *p = (ie_loaded_plugin *)&p; /* must be reset to NULL */
    CHECK_FAILS(ie_plugin_load(path, &p), IE_ERR_PLUGIN, needle);
    CHECK(contains(ie_error_message(), path), "%s: message does not name the file: %s", name, ie_error_message());
    CHECK(p == NULL, "%s: a refused plugin must leave *out NULL", name);
}

static void test_refusals(void) {
    char want[256];
    check_refused("no_entry", "no symbol ie_plugin_entry");
    check_refused("null_entry", "ie_plugin_entry() returned NULL");
    snprintf(want, sizeof want, "built for plugin ABI 2.0, this host speaks %d.%d; rebuild the plugin",
             IE_PLUGIN_ABI_MAJOR, IE_PLUGIN_ABI_MINOR);
    check_refused("wrong_major", want);
    snprintf(want, sizeof want, "built for plugin ABI %d.%d, newer than this host's %d.%d", IE_PLUGIN_ABI_MAJOR,
             IE_PLUGIN_ABI_MINOR + 1, IE_PLUGIN_ABI_MAJOR, IE_PLUGIN_ABI_MINOR);
    check_refused("newer_minor", want);
    snprintf(want, sizeof want, "its plugin table is %zu bytes, smaller than the %zu bytes of ABI 1.0",
             offsetof(ie_plugin, name), (size_t)IE_PLUGIN_SIZE_1_0);
    check_refused("small_struct", want);
    snprintf(want, sizeof want, "plugin says ABI %d.%d, this host speaks %d.%d", IE_PLUGIN_ABI_MAJOR,
             IE_PLUGIN_ABI_MINOR, IE_PLUGIN_ABI_MAJOR, IE_PLUGIN_ABI_MINOR);
    check_refused("small_struct", want);
    check_refused("null_forward", "plugin NullForward has no forward function");
    check_refused("bad_task", "plugin BadTask has task 7, which is not an ie_task_kind");
    check_refused("no_name", "has no name");
    /* dlopen's own words (dlerror) for what the dynamic linker refuses. */
    check_refused("undefined_symbol", "undefined symbol: ie_broken_no_such_function");
    check_refused("missing_dep", "libie_test_dep.so: cannot open shared object file");
    check_refused("does_not_exist", "cannot open shared object file: No such file or directory");

    /* Not a shared object at all. */
    char fake[PATH_MAX];
    snprintf(fake, sizeof fake, "%s/test_plugin_loader_fake_%d.so", P_tmpdir, (int)getpid());
    FILE *f = fopen(fake, "w");
    CHECK(f != NULL, "cannot write %s", fake);
    if (f) {
        fputs("this is not an ELF file\n", f);
        fclose(f);
        ie_loaded_plugin *p = NULL;
        CHECK_FAILS(ie_plugin_load(fake, &p), IE_ERR_PLUGIN, "cannot load the plugin");
        CHECK(contains(ie_error_message(), fake), "message does not name %s: %s", fake, ie_error_message());
        unlink(fake);
    }

    ie_loaded_plugin *p = NULL;
    CHECK_FAILS(ie_plugin_load(NULL, &p), IE_ERR_INVALID_ARG, "no plugin path");
    CHECK_FAILS(ie_plugin_load("", &p), IE_ERR_INVALID_ARG, "no plugin path");
    CHECK_FAILS(ie_plugin_load(plugin_path("tinyseg"), NULL), IE_ERR_INVALID_ARG, "out is NULL");
    ie_plugin_unload(NULL);
}

/* sha256sum(1) as the independent reference for the recorded digest. */
static void sha256_reference(const char *path, char hex[65]) {
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    hex[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fscanf(p, "%64s", hex) != 1) hex[0] = '\0';
    pclose(p);
}

static void test_load_current(void) {
    ie_loaded_plugin *p = NULL;
    CHECK_OK(ie_plugin_load(plugin_path("tinyseg"), &p));
    const ie_plugin *t = &p->table;
    CHECK(!strcmp(t->name, "TinySeg") && !strcmp(t->version, "0.1.0"), "name %s version %s", t->name, t->version);
    CHECK(t->task == IE_TASK_SEGMENTATION, "task %d", (int)t->task);
    CHECK(t->abi_major == IE_PLUGIN_ABI_MAJOR && t->abi_minor == IE_PLUGIN_ABI_MINOR, "ABI %u.%u", t->abi_major,
          t->abi_minor);
    CHECK(t->struct_size == sizeof(ie_plugin), "struct_size %u, expected %zu", t->struct_size, sizeof(ie_plugin));
    CHECK(t->create && t->destroy && t->parameters && t->forward, "required functions copied");
    CHECK(!t->loss && !t->metrics && !t->load_item && !t->validate_config, "TinySeg leaves optional ones NULL");

    char resolved[PATH_MAX], want[65];
    CHECK(realpath(plugin_path("tinyseg"), resolved) && !strcmp(p->path, resolved), "path %s", p->path);
    sha256_reference(plugin_path("tinyseg"), want);
    CHECK(strlen(want) == 64 && !strcmp(p->sha256, want), "sha256 %s, sha256sum says %s", p->sha256, want);
    ie_plugin_unload(p);

    /* A bare file name means the file in the current folder, not a search of
     * the system library path. */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    CHECK(chdir(IE_TEST_PLUGIN_DIR) == 0, "chdir %s", IE_TEST_PLUGIN_DIR);
    p = NULL;
    CHECK_OK(ie_plugin_load("libtinyseg.so", &p));
    CHECK(!strcmp(p->path, resolved), "bare name resolved to %s", p->path);
    ie_plugin_unload(p);
    CHECK(chdir(cwd) == 0, "chdir back");
}

/* Built against tests/abi/v1_0/innereye/plugin.h.  Its table is followed in
 * memory by a function that fails if called: a host reading past
 * struct_size would take it for validate_config. */
static void test_older_minor(void) {
    ie_loaded_plugin *p = NULL;
    CHECK_OK(ie_plugin_load(plugin_path("abi_v1_0"), &p));
    CHECK(p->table.abi_major == 1 && p->table.abi_minor == 0, "ABI %u.%u", p->table.abi_major,
          p->table.abi_minor);
    CHECK(p->table.struct_size == IE_PLUGIN_SIZE_1_0, "struct_size %u, the 1.0 table is %zu",
          p->table.struct_size, (size_t)IE_PLUGIN_SIZE_1_0);
    CHECK(p->table.validate_config == NULL, "validate_config of a 1.0 plugin must read as NULL");
    CHECK_OK(ie_plugin_validate_config(p, "{}"));

    ie_host host = {.struct_size = sizeof host, .abi_major = IE_PLUGIN_ABI_MAJOR,
                    .abi_minor = IE_PLUGIN_ABI_MINOR, .seed = 1, .threads = 1, .run_dir = ""};
    ie_model *model = NULL;
    CHECK_OK(ie_plugin_create(p, "{}", &host, &model));
    ie_params *params = p->table.parameters(model);
    CHECK(ie_params_count(params) == 2 && ie_params_find(params, "scale") && ie_params_find(params, "shift"),
          "parameters scale and shift");

    const int64_t shape[5] = {1, 2, 2, 2, 2};
    ie_tensor *image = test_random(5, shape, 11, -1.0f, 1.0f, false);
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .image = image};
    ie_tensor *y = NULL;
    CHECK_OK(ie_plugin_forward(p, model, &batch, false, &y));
    CHECK(ie_tensor_same_shape(y, image), "output shape");
    const float *x = ie_tensor_data_f32(image), *out = ie_tensor_data_f32(y);
    int wrong = 0;
    for (int64_t i = 0; i < ie_tensor_numel(image); i++) wrong += out[i] != x[i] * 2.0f + 0.5f;
    CHECK(wrong == 0, "%d outputs differ from 2 x + 0.5", wrong);
    ie_tensor_release(y);
    ie_tensor_release(image);
    p->table.destroy(model);
    ie_plugin_unload(p);
}

/* Built against tests/abi/v1_1/innereye/plugin.h: the newer host (1.2 and
 * 1.3: new SDK calls; 1.4: forward_deep appended) loads it, finds its 1.1
 * validate_config and runs it, sees no forward_deep; create() leaves its
 * parameters where the host runs (the CPU). */
static void test_previous_minor(void) {
    ie_loaded_plugin *p = NULL;
    CHECK_OK(ie_plugin_load(plugin_path("abi_v1_1"), &p));
    CHECK(p->table.abi_major == 1 && p->table.abi_minor == 1, "ABI %u.%u", p->table.abi_major, p->table.abi_minor);
    CHECK(p->table.validate_config != NULL, "validate_config of a 1.1 plugin is copied");
    CHECK_OK(ie_plugin_validate_config(p, "{}"));
    CHECK_FAILS(ie_plugin_validate_config(p, "{\"refuse\": 1}"), IE_ERR_CONFIG, "AbiV1_1: this config asks to be refused");
    ie_host host = {.struct_size = sizeof host, .abi_major = IE_PLUGIN_ABI_MAJOR,
                    .abi_minor = IE_PLUGIN_ABI_MINOR, .seed = 1, .threads = 1, .device = IE_CPU, .run_dir = ""};
    ie_model *model = NULL;
    CHECK_OK(ie_plugin_create(p, "{}", &host, &model));
    ie_params *params = p->table.parameters(model);
    CHECK(ie_params_count(params) == 2 && ie_tensor_device(ie_params_find(params, "scale")) == IE_CPU,
          "parameters on the host's device");
    const int64_t shape[5] = {1, 2, 2, 2, 2};
    ie_tensor *image = test_random(5, shape, 12, -1.0f, 1.0f, false);
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .image = image};
    ie_tensor *y = NULL;
    CHECK_OK(ie_plugin_forward(p, model, &batch, false, &y));
    const float *x = ie_tensor_data_f32(image), *out = ie_tensor_data_f32(y);
    int wrong = 0;
    for (int64_t i = 0; i < ie_tensor_numel(image); i++) wrong += out[i] != x[i] * 3.0f - 1.0f;
    CHECK(wrong == 0, "%d outputs differ from 3 x - 1", wrong);
    ie_tensor_release(y);
    /* ABI 1.4's forward_deep lies beyond the 1.1 table: the host's copy has
     * NULL there, and deep supervision is refused with the way out. */
    CHECK(p->table.forward_deep == NULL, "a 1.1 plugin has no forward_deep");
    ie_tensor *aux[IE_PLUGIN_MAX_AUX] = {0};
    int n_aux = -1;
    y = NULL;
    CHECK_FAILS(ie_plugin_forward_deep(p, model, &batch, &y, aux, &n_aux), IE_ERR_CONFIG,
                "train.deep_supervision is true, but plugin AbiV1_1");
    CHECK(contains(ie_error_message(), "set train.deep_supervision to false") && y == NULL && n_aux == 0,
          "the refusal says what to do and returns nothing: %s", ie_error_message());
    ie_tensor_release(image);
    p->table.destroy(model);
    ie_plugin_unload(p);
}

/* Built against tests/abi/v1_3/innereye/plugin.h, the table just before
 * ABI 1.4 appended forward_deep: it loads on the 1.4 host, its struct_size
 * stops before forward_deep (which reads NULL in the host's copy), and its
 * forward runs. */
static void test_minor_before_forward_deep(void) {
    ie_loaded_plugin *p = NULL;
    CHECK_OK(ie_plugin_load(plugin_path("abi_v1_3"), &p));
    CHECK(p->table.abi_major == 1 && p->table.abi_minor == 3, "ABI %u.%u", p->table.abi_major, p->table.abi_minor);
    CHECK(p->table.forward_deep == NULL && p->table.validate_config != NULL,
          "a 1.3 plugin: validate_config copied, forward_deep NULL");
    ie_host host = {.struct_size = sizeof host, .abi_major = IE_PLUGIN_ABI_MAJOR,
                    .abi_minor = IE_PLUGIN_ABI_MINOR, .seed = 1, .threads = 1, .device = IE_CPU, .run_dir = ""};
    ie_model *model = NULL;
    CHECK_OK(ie_plugin_create(p, "{}", &host, &model));
    const int64_t shape[5] = {1, 2, 2, 2, 2};
    ie_tensor *image = test_random(5, shape, 13, -1.0f, 1.0f, false), *y = NULL;
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .image = image};
    CHECK_OK(ie_plugin_forward(p, model, &batch, true, &y));
    int wrong = 0;
    for (int64_t i = 0; y && i < ie_tensor_numel(image); i++)
        wrong += ie_tensor_data_f32(y)[i] != ie_tensor_data_f32(image)[i] * 3.0f - 1.0f;
    CHECK(y && wrong == 0, "%d outputs differ from 3 x - 1", wrong);
    ie_tensor_release(y);
    ie_tensor_release(image);
    p->table.destroy(model);
    ie_plugin_unload(p);
}

static void test_failures_propagate(void) {
    ie_host host = {.struct_size = sizeof host, .abi_major = IE_PLUGIN_ABI_MAJOR,
                    .abi_minor = IE_PLUGIN_ABI_MINOR, .seed = 1, .threads = 1, .run_dir = ""};
    ie_loaded_plugin *p = NULL;
    CHECK_OK(ie_plugin_load(plugin_path("create_fails"), &p));
    ie_model *model = (ie_model *)&model;
    CHECK_FAILS(ie_plugin_create(p, "{}", &host, &model), IE_ERR_CONFIG,
                "plugin CreateFails: create failed: CreateFails: model.params.depth must be at least 1, got 0");
    CHECK(model == NULL, "a failed create leaves *out NULL");
    CHECK_FAILS(ie_plugin_create(p, "{\"mode\": \"silent\"}", &host, &model), IE_ERR_CONFIG,
                "create failed (configuration error) without a message");
    CHECK(contains(ie_error_message(), "libcreate_fails.so"), "names the file: %s", ie_error_message());
    CHECK_FAILS(ie_plugin_create(p, "{\"mode\": \"no-model\"}", &host, &model), IE_ERR_PLUGIN,
                "create returned OK but no model");
    CHECK_FAILS(ie_plugin_create(p, "{\"mode\": \"odd-status\"}", &host, &model), IE_ERR_PLUGIN,
                "create returned unknown status 99");
    /* An ABI 1.1 plugin's validate_config is seen and called. */
    CHECK(p->table.validate_config != NULL, "validate_config of a 1.1 plugin is copied");
    CHECK_OK(ie_plugin_validate_config(p, "{}"));
    CHECK_FAILS(ie_plugin_validate_config(p, "{\"invalid\": 1}"), IE_ERR_CONFIG,
                "plugin CreateFails: validate_config failed: CreateFails: model.params.depth is missing");
    ie_plugin_unload(p);

    p = NULL;
    CHECK_OK(ie_plugin_load(plugin_path("forward_fails"), &p));
    CHECK_OK(ie_plugin_create(p, NULL, &host, &model));
    const int64_t four[5] = {1, 4, 2, 2, 2}, three[5] = {1, 3, 2, 2, 2};
    ie_tensor *image = test_random(5, four, 3, -1.0f, 1.0f, false);
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .image = image};
    ie_tensor *y = (ie_tensor *)&y;
    CHECK_FAILS(ie_plugin_forward(p, model, &batch, true, &y), IE_ERR_SHAPE,
                "plugin ForwardFails: forward failed: ForwardFails: expects 4 input channels");
    CHECK(y == NULL, "a failed forward leaves *out NULL");
    ie_tensor_release(image);
    batch.image = image = test_random(5, three, 3, -1.0f, 1.0f, false);
    CHECK_FAILS(ie_plugin_forward(p, model, &batch, true, &y), IE_ERR_PLUGIN, "forward returned OK but no output");
    CHECK_FAILS(ie_plugin_forward(p, model, NULL, true, &y), IE_ERR_INVALID_ARG, "batch");
    ie_tensor_release(image);
    p->table.destroy(model);
    ie_plugin_unload(p);
}

typedef struct scan_record {
    char loaded[32][64];     /* names */
    char refused[32][128];   /* file names */
    int n_loaded, n_refused;
    int builtin_folders, search_folders, missing_folders;
} scan_record;

static void record_folder(void *ctx, const char *dir, ie_plugin_origin origin, bool exists) {
    (void)dir;
    scan_record *r = ctx;
    r->builtin_folders += origin == IE_PLUGIN_ORIGIN_BUILTIN;
    r->search_folders += origin == IE_PLUGIN_ORIGIN_SEARCH_PATH;
    r->missing_folders += origin == IE_PLUGIN_ORIGIN_SEARCH_PATH && !exists;
}

static bool record_visit(void *ctx, const char *path, ie_plugin_origin origin, ie_loaded_plugin **plugin,
                         ie_status status, const char *message) {
    scan_record *r = ctx;
    if (origin != IE_PLUGIN_ORIGIN_SEARCH_PATH) return false; /* the built-in models are not this test's */
    if (status == IE_OK && r->n_loaded < 32) {
        snprintf(r->loaded[r->n_loaded++], 64, "%s", (*plugin)->table.name);
    } else if (status != IE_OK && r->n_refused < 32) {
        snprintf(r->refused[r->n_refused++], 128, "%s", strrchr(path, '/') + 1);
        CHECK(status == IE_ERR_PLUGIN && contains(message, path), "refusal of %s: %s", path, message);
    }
    return false;
}

static bool listed(char (*names)[64], int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

static bool listed_file(char (*files)[128], int n, const char *file) {
    for (int i = 0; i < n; i++)
        if (!strcmp(files[i], file)) return true;
    return false;
}

/* Copies a file (a copy, not a link: dlopen would treat a link to a loaded
 * file as that same library). */
static bool copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[8192];
    size_t n;
    bool ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (out) ok = fclose(out) == 0 && ok;
    return ok;
}

static void test_find(void) {
    CHECK(ie_plugin_spec_is_path("plugins/x") && ie_plugin_spec_is_path("libx.so") &&
              !ie_plugin_spec_is_path("TinySeg") && !ie_plugin_spec_is_path("so"),
          "path or name");

    char builtin[PATH_MAX], want[PATH_MAX + 64], lib[PATH_MAX];
    CHECK_OK(ie_plugin_builtin_dir(builtin, sizeof builtin));
    CHECK(realpath(IE_BUILD_LIB_DIR, lib) != NULL, "realpath %s", IE_BUILD_LIB_DIR);
    snprintf(want, sizeof want, "%s/innereye/models", lib);
    CHECK(!strcmp(builtin, want), "built-in models folder %s, expected %s", builtin, want);

    /* A folder of its own, first on the path, holding a second TinySeg. */
    char first[] = "/tmp/ie_plugin_path_XXXXXX", copy[PATH_MAX], env[3 * PATH_MAX];
    CHECK(mkdtemp(first) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(copy, sizeof copy, "%s/libsecond_tinyseg.so", first);
    CHECK(copy_file(plugin_path("tinyseg"), copy), "copy to %s", copy);
    snprintf(env, sizeof env, "%s::%s:/nonexistent_ie_dir", first, IE_TEST_PLUGIN_DIR);
    setenv("INNEREYE_PLUGIN_PATH", env, 1);

    ie_loaded_plugin *p = NULL;
    CHECK_OK(ie_plugin_find("TinySeg", &p));
    CHECK(contains(p->path, "libsecond_tinyseg.so"), "the first folder on the path wins, got %s", p->path);
    ie_plugin_unload(p);
    p = NULL;
    CHECK_OK(ie_plugin_find("AbiV1_0", &p));
    CHECK(p->table.abi_minor == 0, "found the 1.0 plugin by name");
    ie_plugin_unload(p);
    p = NULL;
    CHECK_OK(ie_plugin_find(plugin_path("forward_fails"), &p));
    CHECK(!strcmp(p->table.name, "ForwardFails"), "explicit path");
    ie_plugin_unload(p);

    CHECK_FAILS(ie_plugin_find("NoSuchModel", &p), IE_ERR_PLUGIN, "no plugin named 'NoSuchModel'. Found: ");
    const char *msg = ie_error_message();
    snprintf(want, sizeof want, "%s (built-in", builtin);
    CHECK(contains(msg, want), "lists the built-in folder: %s", msg);
    snprintf(want, sizeof want, "%s (INNEREYE_PLUGIN_PATH)", IE_TEST_PLUGIN_DIR);
    CHECK(contains(msg, want), "lists the search folder: %s", msg);
    CHECK(contains(msg, "/nonexistent_ie_dir (INNEREYE_PLUGIN_PATH, missing)"), "lists the missing folder: %s",
          msg);
    const char *found = strstr(msg, "Found: "), *looked = strstr(msg, ". Looked in: ");
    int tinysegs = 0;
    for (const char *q = found; q && (q = strstr(q, "TinySeg")) && q < looked; q++) tinysegs++;
    CHECK(tinysegs == 1, "each name found is listed once (TinySeg %d times): %s", tinysegs, msg);
    CHECK(contains(msg, "TinySeg") && contains(msg, "AbiV1_0") && contains(msg, "ForwardFails") &&
              contains(msg, "MyModel"),
          "lists the names found: %s", msg);
    CHECK(contains(msg, "Could not load (`innereye plugins` says why): ") && contains(msg, "libwrong_major.so"), "lists what was refused: %s",
          msg);
    CHECK_FAILS(ie_plugin_find("", &p), IE_ERR_INVALID_ARG, "no plugin named");

    /* The scan reports every file, good or broken, and never stops early. */
    scan_record r = {0};
    CHECK_OK(ie_plugin_scan(record_folder, record_visit, &r));
    CHECK(r.builtin_folders == 1 && r.search_folders == 3 && r.missing_folders == 1, "folders %d %d %d",
          r.builtin_folders, r.search_folders, r.missing_folders);
    const char *good[] = {"AbiV1_0", "AbiV1_1", "AbiV1_3", "CreateFails", "Faulty", "ForwardFails", "MyModel",
                          "TinySeg", "UNETR"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(listed(r.loaded, r.n_loaded, good[i]), "scan did not load %s", good[i]);
    CHECK(r.n_loaded == 10, "10 plugins load (TinySeg twice), got %d", r.n_loaded);
    const char *bad[] = {"libno_entry.so",    "libnull_entry.so", "libwrong_major.so",     "libnewer_minor.so",
                         "libsmall_struct.so", "libnull_forward.so", "libbad_task.so",      "libno_name.so",
                         "libundefined_symbol.so", "libmissing_dep.so"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(listed_file(r.refused, r.n_refused, bad[i]), "scan did not refuse %s", bad[i]);
    CHECK(r.n_refused == (int)(sizeof bad / sizeof *bad), "%d refused", r.n_refused);

    unsetenv("INNEREYE_PLUGIN_PATH");
    CHECK_FAILS(ie_plugin_find("TinySeg", &p), IE_ERR_PLUGIN, "(INNEREYE_PLUGIN_PATH is not set)");
    unlink(copy);
    rmdir(first);
}

int main(void) {
    test_refusals();
    test_load_current();
    test_older_minor();
    test_previous_minor();
    test_minor_before_forward_deep();
    test_failures_propagate();
    test_find();
    return test_summary();
}
