/* Configs: extends chains and merge rules, cycles and missing parents, JSON
 * syntax errors with line and column, overrides and InnerEye's flags, schema
 * errors (unknown keys with suggestions, types, ranges, cross-key rules, all
 * reported at once, each naming its file), defaults, canonical text and hash,
 * typed reads.  The config files are written to a temporary folder. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config/config_int.h"
#include "core/util/sha256.h"
#include "innereye/config.h"
#include "test_util.h"

static char root_dir[] = "/tmp/ie_config_XXXXXX";

/* Rotating buffers so that a few paths can be live at once. */
static const char *P(const char *rel) {
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", root_dir, rel);
    return b;
}

static void put(const char *rel, const char *text) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", P(rel));
    for (char *s = dir + strlen(root_dir) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(dir, 0755);
        *s = '/';
    }
    FILE *f = fopen(P(rel), "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "FAIL: cannot write %s\n", P(rel));
        exit(1);
    }
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static ie_config *fresh(void) {
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_search_dir(cfg, P("configs")));
    return cfg;
}

/* A config from one file, resolved (the test stops if that fails). */
static ie_config *resolved_file(const char *rel) {
    ie_config *cfg = fresh();
    CHECK_OK(ie_config_add_file(cfg, P(rel)));
    CHECK_OK(ie_config_resolve(cfg));
    return cfg;
}

static ie_config *resolved_text(const char *text) {
    ie_config *cfg = fresh();
    CHECK_OK(ie_config_add_text(cfg, text, "inline.json"));
    CHECK_OK(ie_config_resolve(cfg));
    return cfg;
}

static int64_t get_int(const ie_config *cfg, const char *path) {
    int64_t v = -12345;
    CHECK(ie_config_get_int(cfg, path, &v) == IE_OK, "get_int %s: %s", path, ie_error_message());
    return v;
}

static double get_num(const ie_config *cfg, const char *path) {
    double v = -12345;
    CHECK(ie_config_get_number(cfg, path, &v) == IE_OK, "get_number %s: %s", path, ie_error_message());
    return v;
}

static int get_bool(const ie_config *cfg, const char *path) {
    bool v = false;
    if (ie_config_get_bool(cfg, path, &v) != IE_OK) {
        CHECK(0, "get_bool %s: %s", path, ie_error_message());
        return -1;
    }
    return v;
}

static const char *get_str(const ie_config *cfg, const char *path) {
    const char *v = "";
    CHECK(ie_config_get_string(cfg, path, &v) == IE_OK, "get_string %s: %s", path, ie_error_message());
    return v;
}

static const char *source(const ie_config *cfg, const char *path) {
    const char *s = ie_config_source(cfg, path);
    return s ? s : "(none)";
}

static void check_json(const ie_config *cfg, const char *path, const char *want) {
    char *got = NULL;
    CHECK(ie_config_get_json(cfg, path, &got) == IE_OK, "get_json %s: %s", path, ie_error_message());
    CHECK(got && strcmp(got, want) == 0, "%s is %s, want %s", path, got ? got : "(null)", want);
    ie_config_string_free(got);
}

/* Resolving must fail; needles[0] must be in the message (its head), the
 * others in the full problem list. */
static void check_problems(ie_config *cfg, const char *const *needles, int n, const char *what) {
    ie_error_clear();
    ie_status st = ie_config_resolve(cfg);
    CHECK(st == IE_ERR_CONFIG, "%s: resolve returned %s, want a configuration error", what, ie_status_name(st));
    CHECK(strstr(ie_error_message(), needles[0]), "%s: message lacks \"%s\":\n%s", what, needles[0],
          ie_error_message());
    for (int i = 1; i < n; i++)
        CHECK(strstr(ie_config_problems(cfg), needles[i]), "%s: problems lack \"%s\":\n%s", what, needles[i],
              ie_config_problems(cfg));
}

/* ---------------------------------------------------------------- tests */

static void test_defaults(void) {
    ie_config *cfg = fresh();
    CHECK_FAILS(ie_config_get_int(cfg, "seed", NULL), IE_ERR_STATE, "ie_config_resolve");
    CHECK(ie_config_text(cfg) == NULL, "text before resolve");
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(get_int(cfg, "seed") == 42, "seed default");
    CHECK(strcmp(get_str(cfg, "model.name"), "HelloWorld") == 0, "model.name default");
    CHECK(strcmp(get_str(cfg, "data.normalization"), "SimpleNorm") == 0, "normalization default");
    CHECK(get_num(cfg, "train.optimizer.lr") == 1e-3, "lr default");
    CHECK(get_num(cfg, "train.optimizer.eps") == 1e-8, "eps default");
    CHECK(get_num(cfg, "data.split.val") == 0.15, "split default");
    CHECK(get_int(cfg, "cv.split_index") == -1, "split_index default");
    CHECK(get_bool(cfg, "run.train") == 1 && get_bool(cfg, "run.infer_val") == 0, "run defaults");
    int64_t crop[3] = {0};
    int n = 0;
    CHECK_OK(ie_config_get_int_array(cfg, "data.crop_size", crop, 3, &n));
    CHECK(n == 3 && crop[0] == 32 && crop[1] == 32 && crop[2] == 32, "crop_size default");
    double betas[2] = {0};
    CHECK_OK(ie_config_get_number_array(cfg, "train.optimizer.betas", betas, 2, &n));
    CHECK(n == 2 && betas[0] == 0.9 && betas[1] == 0.999, "betas default");
    CHECK_OK(ie_config_get_array_length(cfg, "data.test_crop_size", &n));
    CHECK(n == 0, "test_crop_size default is []");
    check_json(cfg, "model.params", "{}");
    CHECK(strcmp(source(cfg, "train.epochs"), "default") == 0, "source of a default: %s", source(cfg, "train.epochs"));
    /* Every default passes its own schema row: the resolved text read back resolves to itself. */
    ie_config *again = resolved_text(ie_config_text(cfg));
    CHECK(strcmp(ie_config_text(again), ie_config_text(cfg)) == 0, "defaults round trip");
    ie_config_free(again);
    ie_config_free(cfg);
}

static void test_extends(void) {
    /* configs/ is the search folder; exp/ holds the experiment files. */
    put("configs/shared.json", "{\"seed\": 1, \"train\": {\"epochs\": 5, \"optimizer\": {\"kind\": \"sgd\", "
                               "\"lr\": 0.1, \"momentum\": 0.5}}, \"data\": {\"crop_size\": [8, 8, 8], "
                               "\"classes\": [\"liver\", \"spleen\"]}}");
    put("configs/base.json", "{\"seed\": 1000, \"model\": {\"name\": \"FromSearchPath\"}}");
    put("exp/base.json", "{\"extends\": \"shared.json\", \"model\": {\"name\": \"FromOwnFolder\", "
                         "\"params\": {\"depth\": 3, \"width\": 16}}}");
    put("exp/mid.json", "{\"extends\": \"base.json\", \"train\": {\"optimizer\": {\"lr\": 0.01}}, "
                        "\"data\": {\"classes\": [\"kidney\"]}, \"model\": {\"params\": {\"width\": 32}}}");
    put("exp/top.json", "{\"extends\": \"mid.json\", \"seed\": 7, "
                        "\"train\": {\"optimizer\": {\"momentum\": null}}}");
    ie_config *cfg = resolved_file("exp/top.json");
    CHECK(get_int(cfg, "seed") == 7, "the extending file wins");
    CHECK(get_int(cfg, "train.epochs") == 5, "grandparent's key kept");
    CHECK(strcmp(get_str(cfg, "train.optimizer.kind"), "sgd") == 0, "objects merge key by key");
    CHECK(get_num(cfg, "train.optimizer.lr") == 0.01, "parent overrides grandparent");
    CHECK(get_num(cfg, "train.optimizer.momentum") == 0.9, "null deletes: the default applies again");
    CHECK(strcmp(get_str(cfg, "model.name"), "FromOwnFolder") == 0,
          "extends looks next to the extending file before the search folder");
    check_json(cfg, "data.classes", "[\"kidney\"]"); /* arrays replace, never concatenate */
    check_json(cfg, "data.crop_size", "[8,8,8]");
    check_json(cfg, "model.params", "{\"depth\":3,\"width\":32}"); /* free-form sections merge too */
    CHECK(!ie_config_has(cfg, "extends"), "extends is not part of the result");
    CHECK(strcmp(source(cfg, "seed"), P("exp/top.json")) == 0, "source of seed: %s", source(cfg, "seed"));
    CHECK(strcmp(source(cfg, "train.epochs"), P("configs/shared.json")) == 0, "source of epochs: %s",
          source(cfg, "train.epochs"));
    CHECK(strcmp(source(cfg, "train.optimizer.lr"), P("exp/mid.json")) == 0, "source of lr: %s",
          source(cfg, "train.optimizer.lr"));
    CHECK(strcmp(source(cfg, "train.optimizer.momentum"), "default") == 0, "source of deleted key: %s",
          source(cfg, "train.optimizer.momentum"));
    CHECK(strcmp(source(cfg, "model.params.depth"), P("exp/base.json")) == 0, "source inside params: %s",
          source(cfg, "model.params.depth"));
    ie_config_free(cfg);

    /* An array of parents applies in order; the extending file still wins. */
    put("exp/a.json", "{\"seed\": 1, \"train\": {\"epochs\": 10, \"batch_size\": 4}}");
    put("exp/b.json", "{\"seed\": 2, \"train\": {\"epochs\": 20}}");
    put("exp/ab.json", "{\"extends\": [\"a.json\", \"b.json\"], \"train\": {\"batch_size\": 8}}");
    put("exp/ba.json", "{\"extends\": [\"b.json\", \"a.json\"]}");
    cfg = resolved_file("exp/ab.json");
    CHECK(get_int(cfg, "seed") == 2 && get_int(cfg, "train.epochs") == 20, "later parent wins");
    CHECK(get_int(cfg, "train.batch_size") == 8, "child wins over both parents");
    ie_config_free(cfg);
    cfg = resolved_file("exp/ba.json");
    CHECK(get_int(cfg, "seed") == 1 && get_int(cfg, "train.epochs") == 10 && get_int(cfg, "train.batch_size") == 4,
          "parent order reversed");
    ie_config_free(cfg);

    /* Several files on the command line merge in order, like parents. */
    cfg = fresh();
    CHECK_OK(ie_config_add_file(cfg, P("exp/a.json")));
    CHECK_OK(ie_config_add_file(cfg, P("exp/b.json")));
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(get_int(cfg, "train.epochs") == 20 && get_int(cfg, "train.batch_size") == 4, "files merge in order");
    ie_config_free(cfg);

    /* Text configs find parents in the search folders. */
    cfg = resolved_text("{\"extends\": \"shared.json\", \"seed\": 3}");
    CHECK(get_int(cfg, "seed") == 3 && get_int(cfg, "train.epochs") == 5, "text extends via search folder");
    ie_config_free(cfg);
}

static void test_extends_errors(void) {
    put("cyc/a.json", "{\"extends\": \"b.json\"}");
    put("cyc/b.json", "{\"extends\": \"c.json\", \"seed\": 1}");
    put("cyc/c.json", "{\"extends\": [\"../configs/shared.json\", \"a.json\"]}");
    ie_config *cfg = fresh();
    char want[4096];
    snprintf(want, sizeof want, "config extends cycle: %s -> %s -> %s -> %s", P("cyc/a.json"), P("cyc/b.json"),
             P("cyc/c.json"), P("cyc/a.json"));
    CHECK_FAILS(ie_config_add_file(cfg, P("cyc/a.json")), IE_ERR_CONFIG, want);
    put("cyc/self.json", "{\"extends\": \"self.json\"}");
    CHECK_FAILS(ie_config_add_file(cfg, P("cyc/self.json")), IE_ERR_CONFIG, "config extends cycle");

    /* A diamond (two parents sharing a grandparent) is not a cycle. */
    put("dia/left.json", "{\"extends\": \"shared.json\", \"seed\": 11}");
    put("dia/right.json", "{\"extends\": \"shared.json\", \"train\": {\"epochs\": 9}}");
    put("dia/top.json", "{\"extends\": [\"left.json\", \"right.json\"]}");
    CHECK_OK(ie_config_add_file(cfg, P("dia/top.json")));
    CHECK_OK(ie_config_resolve(cfg));
    /* right.json's own resolved content includes shared.json's seed, which wins over left's. */
    CHECK(get_int(cfg, "seed") == 1 && get_int(cfg, "train.epochs") == 9, "diamond");

    put("miss/child.json", "{\"extends\": \"nowhere.json\"}");
    snprintf(want, sizeof want, "config \"nowhere.json\" (extended by %s) not found; looked for %s, %s",
             P("miss/child.json"), P("miss/nowhere.json"), P("configs/nowhere.json"));
    CHECK_FAILS(ie_config_add_file(cfg, P("miss/child.json")), IE_ERR_IO, want);
    CHECK_FAILS(ie_config_add_file(cfg, P("miss/absent.json")), IE_ERR_IO, P("miss/absent.json"));
    put("miss/badext.json", "{\"extends\": [\"shared.json\", 3]}");
    CHECK_FAILS(ie_config_add_file(cfg, P("miss/badext.json")), IE_ERR_CONFIG,
                "\"extends\" must be a file name or an array of file names");
    put("miss/array.json", "[1, 2]");
    CHECK_FAILS(ie_config_add_file(cfg, P("miss/array.json")), IE_ERR_CONFIG, "must be a JSON object");
    put("miss/dup.json", "{\"train\": {\"epochs\": 1, \"epochs\": 2}}");
    CHECK_FAILS(ie_config_add_file(cfg, P("miss/dup.json")), IE_ERR_CONFIG,
                "key \"epochs\" appears twice in train");
    /* A failed load leaves what was loaded before untouched. */
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(get_int(cfg, "train.epochs") == 9, "config intact after failed loads");
    ie_config_free(cfg);
}

static void test_syntax_errors(void) {
    ie_config *cfg = fresh();
    char want[1024];
    put("syn/comma.json", "{\n  \"seed\": 1,\n  \"train\": {\"epochs\": 3,}\n}\n");
    snprintf(want, sizeof want, "%s:3:25: JSON syntax error: trailing comma", P("syn/comma.json"));
    CHECK_FAILS(ie_config_add_file(cfg, P("syn/comma.json")), IE_ERR_CONFIG, want);
    CHECK_FAILS(ie_config_add_file(cfg, P("syn/comma.json")), IE_ERR_CONFIG, "in line `  \"train\": {\"epochs\": 3,}`");

    put("syn/missing.json", "{\n  \"seed\": 1\n  \"run\": {}\n}\n");
    snprintf(want, sizeof want, "%s:3:3: JSON syntax error: expected ',' or '}' (is a comma missing?)",
             P("syn/missing.json"));
    CHECK_FAILS(ie_config_add_file(cfg, P("syn/missing.json")), IE_ERR_CONFIG, want);

    /* Columns count characters, not bytes (é is two bytes). */
    put("syn/utf8.json", "{\"model\": {\"name\": \"Pr\xc3\xa9\"}, \"seed\": tru}");
    snprintf(want, sizeof want, "%s:1:36: JSON syntax error: expected a value", P("syn/utf8.json"));
    CHECK_FAILS(ie_config_add_file(cfg, P("syn/utf8.json")), IE_ERR_CONFIG, want);

    put("syn/short.json", "{\"seed\": 1,\n\"train\": {");
    snprintf(want, sizeof want, "%s:2:11: JSON syntax error: the text ends before the JSON is complete",
             P("syn/short.json"));
    CHECK_FAILS(ie_config_add_file(cfg, P("syn/short.json")), IE_ERR_CONFIG, want);

    /* Things cJSON alone would let through, refused as RFC 8259 does. */
    CHECK_FAILS(ie_config_add_text(cfg, "{\"seed\": 042}", "zeros.json"), IE_ERR_CONFIG,
                "zeros.json:1:11: JSON syntax error: numbers cannot have leading zeros");
    CHECK_FAILS(ie_config_add_text(cfg, "{\"run\": {\"train\": True}}", "py.json"), IE_ERR_CONFIG,
                "py.json:1:19: JSON syntax error: JSON writes true, false and null in lower case");
    CHECK_FAILS(ie_config_add_text(cfg, "{'seed': 1}", "q.json"), IE_ERR_CONFIG, "q.json:1:2: JSON syntax error: "
                                                                                  "strings and keys need double quotes");
    CHECK_FAILS(ie_config_add_text(cfg, "{\"seed\": 1} // note", "c.json"), IE_ERR_CONFIG,
                "c.json:1:13: JSON syntax error: unexpected text after the end");
    CHECK_FAILS(ie_config_add_text(cfg, "", "empty.json"), IE_ERR_CONFIG, "empty.json:1:1: JSON syntax error");

    /* A syntax error in a parent names the parent. */
    put("syn/child.json", "{\"extends\": \"comma.json\"}");
    snprintf(want, sizeof want, "%s:3:25:", P("syn/comma.json"));
    CHECK_FAILS(ie_config_add_file(cfg, P("syn/child.json")), IE_ERR_CONFIG, want);
    ie_config_free(cfg);
}

static void test_overrides(void) {
    put("ovr/base.json", "{\"train\": {\"epochs\": 5}, \"model\": {\"params\": {\"depth\": 3}}}");
    ie_config *cfg = fresh();
    /* Overrides apply after every file, whatever the call order. */
    CHECK_OK(ie_config_set(cfg, "train.epochs=3", NULL));
    CHECK_OK(ie_config_add_file(cfg, P("ovr/base.json")));
    CHECK_OK(ie_config_set(cfg, "seed=5", NULL));
    CHECK_OK(ie_config_set(cfg, "train.optimizer.lr=1e-2", NULL));
    CHECK_OK(ie_config_set(cfg, "run.train=false", NULL));
    CHECK_OK(ie_config_set(cfg, "run.infer_val=True", NULL)); /* InnerEye spelling */
    CHECK_OK(ie_config_set(cfg, "model.name=UNet3D", NULL));  /* plain string */
    CHECK_OK(ie_config_set(cfg, "run.name=\"quoted name\"", NULL));
    CHECK_OK(ie_config_set(cfg, "output.dir=123", NULL)); /* a string key keeps digits as text */
    CHECK_OK(ie_config_set(cfg, "data.crop_size=[16, 16, 8]", NULL));
    CHECK_OK(ie_config_set(cfg, "data.classes=[\"a\",\"b\"]", NULL));
    CHECK_OK(ie_config_set(cfg, "train.optimizer.betas=[0.5,0.99]", NULL));
    CHECK_OK(ie_config_set(cfg, "model.params={\"width\": 8, \"act\": \"relu\"}", NULL));
    CHECK_OK(ie_config_set(cfg, "model.params.width=12", NULL));
    CHECK_OK(ie_config_set(cfg, "train.schedule.kind=cosine", NULL));
    CHECK_OK(ie_config_set(cfg, "model.plugin=", NULL)); /* empty string */
    CHECK_OK(ie_config_set(cfg, "train.batch_size=7", "my-source"));
    CHECK_OK(ie_config_set(cfg, "train.batch_size=null", NULL)); /* back to the default */
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(get_int(cfg, "train.epochs") == 3, "override beats the file");
    CHECK(strcmp(source(cfg, "train.epochs"), "--set train.epochs=3") == 0, "override source: %s",
          source(cfg, "train.epochs"));
    CHECK(get_int(cfg, "seed") == 5, "int override");
    CHECK(get_num(cfg, "train.optimizer.lr") == 0.01, "number override");
    CHECK(get_bool(cfg, "run.train") == 0 && get_bool(cfg, "run.infer_val") == 1, "bool overrides");
    CHECK(strcmp(get_str(cfg, "model.name"), "UNet3D") == 0, "plain string");
    CHECK(strcmp(get_str(cfg, "run.name"), "quoted name") == 0, "quoted string");
    CHECK(strcmp(get_str(cfg, "output.dir"), "123") == 0, "digits as string");
    CHECK(strcmp(get_str(cfg, "model.plugin"), "") == 0, "empty string");
    check_json(cfg, "data.crop_size", "[16,16,8]");
    check_json(cfg, "data.classes", "[\"a\",\"b\"]");
    check_json(cfg, "train.optimizer.betas", "[0.5,0.99]");
    check_json(cfg, "model.params", "{\"act\":\"relu\",\"depth\":3,\"width\":12}");
    CHECK(get_int(cfg, "train.batch_size") == 2, "null override restores the default");
    const char *classes[4] = {0};
    int n = 0;
    CHECK_OK(ie_config_get_string_array(cfg, "data.classes", classes, 4, &n));
    CHECK(n == 2 && strcmp(classes[0], "a") == 0 && strcmp(classes[1], "b") == 0, "string array read");

    CHECK_FAILS(ie_config_set(cfg, "train.epochs", NULL), IE_ERR_INVALID_ARG, "expected PATH=VALUE");
    CHECK_FAILS(ie_config_set(cfg, "train..epochs=1", NULL), IE_ERR_INVALID_ARG, "is not a key path");
    CHECK_FAILS(ie_config_set(cfg, "=1", NULL), IE_ERR_INVALID_ARG, "is not a key path");
    /* An added override makes the old result stale until the next resolve. */
    CHECK_OK(ie_config_set(cfg, "seed=6", NULL));
    CHECK_FAILS(ie_config_get_int(cfg, "seed", NULL), IE_ERR_STATE, "not resolved");
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(get_int(cfg, "seed") == 6, "re-resolve");
    ie_config_free(cfg);
}

static void test_args(void) {
    put("args/exp.json", "{\"train\": {\"epochs\": 50, \"batch_size\": 16}, \"data\": {\"workers\": 8}}");
    char *argv[] = {"--model=Prostate", "--num_epochs", "7", "--random_seed=9", "--no-train",
                    "--number_of_cross_validation_splits=5", "--cross_validation_split_index", "2",
                    "--inference_on_test_set=False", "--inference_on_val_set", "--l_rate=0.05", "--batch_size",
                    "4", "data.csv", "--unknown-flag", "x", "--threads", "3", "--config", (char *)P("args/exp.json"),
                    "--set", "train.schedule.kind=cosine", "--set=train.schedule.gamma=0.5", "-v",
                    "--output_to", "/tmp/out"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    char *rest[32];
    int n_rest = -1;
    ie_config *cfg = fresh();
    CHECK_OK(ie_config_parse_args(cfg, argc, argv, &n_rest, rest));
    CHECK(n_rest == 4, "rest count %d", n_rest);
    if (n_rest == 4)
        CHECK(!strcmp(rest[0], "data.csv") && !strcmp(rest[1], "--unknown-flag") && !strcmp(rest[2], "x") &&
                  !strcmp(rest[3], "-v"),
              "rest: %s %s %s %s", rest[0], rest[1], rest[2], rest[3]);
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(strcmp(get_str(cfg, "model.name"), "Prostate") == 0, "--model");
    CHECK(get_int(cfg, "train.epochs") == 7, "--num_epochs beats the --config file");
    CHECK(get_int(cfg, "seed") == 9, "--random_seed");
    CHECK(get_bool(cfg, "run.train") == 0, "--no-train");
    CHECK(get_int(cfg, "cv.splits") == 5 && get_int(cfg, "cv.split_index") == 2, "cross-validation flags");
    CHECK(get_bool(cfg, "run.infer_test") == 0 && get_bool(cfg, "run.infer_val") == 1, "inference flags");
    CHECK(get_num(cfg, "train.optimizer.lr") == 0.05, "--l_rate");
    CHECK(get_int(cfg, "train.batch_size") == 4, "--batch_size");
    CHECK(get_int(cfg, "data.workers") == 8, "from the --config file");
    CHECK(get_int(cfg, "run.threads") == 3, "--threads");
    CHECK(strcmp(get_str(cfg, "output.dir"), "/tmp/out") == 0, "--output_to");
    CHECK(strcmp(get_str(cfg, "train.schedule.kind"), "cosine") == 0, "--set");
    CHECK(get_num(cfg, "train.schedule.gamma") == 0.5, "--set=");
    CHECK(strcmp(source(cfg, "train.epochs"), "--num_epochs=7") == 0, "flag source: %s", source(cfg, "train.epochs"));
    CHECK(strcmp(source(cfg, "data.workers"), P("args/exp.json")) == 0, "file source: %s",
          source(cfg, "data.workers"));
    ie_config_free(cfg);

    /* Our own spellings, bool forms, and "--" ending the options. */
    char *argv2[] = {"--seed", "11", "--output-dir", "runs", "--train", "False", "--num_dataload_workers", "0",
                     "--inference_on_test_set", "--train=true", "--", "--seed", "12"};
    cfg = fresh();
    CHECK_OK(ie_config_parse_args(cfg, 13, argv2, &n_rest, rest));
    CHECK(n_rest == 3 && !strcmp(rest[0], "--") && !strcmp(rest[1], "--seed"), "-- ends the options (%d)", n_rest);
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(get_int(cfg, "seed") == 11, "--seed");
    CHECK(strcmp(get_str(cfg, "output.dir"), "runs") == 0, "--output-dir");
    CHECK(get_bool(cfg, "run.train") == 1, "--train=true after --train False");
    CHECK(get_bool(cfg, "run.infer_test") == 1, "bare bool flag");
    CHECK(get_int(cfg, "data.workers") == 0, "--num_dataload_workers");
    ie_config_free(cfg);

    char *train_false[] = {"--train", "False", "next"};
    cfg = fresh();
    CHECK_OK(ie_config_parse_args(cfg, 3, train_false, &n_rest, rest));
    CHECK(n_rest == 1 && !strcmp(rest[0], "next"), "--train False consumes False only");
    CHECK_OK(ie_config_resolve(cfg));
    CHECK(get_bool(cfg, "run.train") == 0, "--train False");
    ie_config_free(cfg);

    /* Flags that need a value and have none. */
    cfg = fresh();
    char *no_value[] = {"--num_epochs"};
    CHECK_FAILS(ie_config_parse_args(cfg, 1, no_value, &n_rest, rest), IE_ERR_INVALID_ARG,
                "--num_epochs needs a value");
    char *flag_as_value[] = {"--l_rate", "--train"};
    CHECK_FAILS(ie_config_parse_args(cfg, 2, flag_as_value, &n_rest, rest), IE_ERR_INVALID_ARG,
                "--l_rate needs a value");
    char *no_set[] = {"--set"};
    CHECK_FAILS(ie_config_parse_args(cfg, 1, no_set, &n_rest, rest), IE_ERR_INVALID_ARG, "--set needs a value");
    char *bad_set[] = {"--set", "train.epochs"};
    CHECK_FAILS(ie_config_parse_args(cfg, 2, bad_set, &n_rest, rest), IE_ERR_INVALID_ARG,
                "--set train.epochs: expected PATH=VALUE");
    char *bad_bool[] = {"--train=maybe"};
    CHECK_FAILS(ie_config_parse_args(cfg, 1, bad_bool, &n_rest, rest), IE_ERR_INVALID_ARG,
                "--train expects true or false, got \"maybe\"");
    char *neg_value[] = {"--no-train=true"};
    CHECK_FAILS(ie_config_parse_args(cfg, 1, neg_value, &n_rest, rest), IE_ERR_INVALID_ARG, "--no-train takes no value");
    char *missing_config[] = {"--config", (char *)P("args/none.json")};
    CHECK_FAILS(ie_config_parse_args(cfg, 2, missing_config, &n_rest, rest), IE_ERR_IO, P("args/none.json"));
    ie_config_free(cfg);

    /* A flag value of the wrong type is caught by validation, naming the flag. */
    char *bad_epochs[] = {"--num_epochs=three", "--batch_size", "0"};
    cfg = fresh();
    CHECK_OK(ie_config_parse_args(cfg, 3, bad_epochs, &n_rest, rest));
    check_problems(cfg,
                   (const char *[]){"config has 2 problems",
                                    "--num_epochs=three: train.epochs: must be an int in [1, 2147483647], got \"three\"",
                                    "--batch_size=0: train.batch_size: must be an int in [1, 2147483647], got 0"},
                   3, "bad flag values");
    ie_config_free(cfg);
}

static void test_schema_errors(void) {
    /* Every kind of problem at once; each line names the file and the path. */
    put("bad/base.json", "{\"data\": {\"crop_size\": [32, 32], \"workers\": 100}}");
    put("bad/exp.json",
        "{\"extends\": \"base.json\", \"epochs\": 3, \"num_epochs\": 4, \"seed\": \"abc\",\n"
        " \"train\": {\"epoch\": 3, \"optimiser\": {}, \"optimizer\": {\"kind\": \"Adam\", \"lr\": 0,\n"
        "   \"betas\": [0.9, 1]}, \"loss\": {\"class_weights\": [1, -1]}},\n"
        " \"run\": {\"train\": \"true\", \"threads\": 1.5}, \"model\": {\"params\": 3}, \"output\": \"dir\",\n"
        " \"data\": {\"test_crop_size\": [64, 64], \"normalization\": \"ctwindow\"}, \"zzz_totally_new\": 1}");
    ie_config *cfg = fresh();
    CHECK_OK(ie_config_add_file(cfg, P("bad/exp.json")));
    CHECK_OK(ie_config_set(cfg, "cv.splits=1", NULL));
    CHECK_OK(ie_config_set(cfg, "train.epochs=2.5", NULL));
    char line[64][512];
    int n = 0;
    const char *exp = P("bad/exp.json"), *base = P("bad/base.json");
#define WANT(...) snprintf(line[n++], sizeof line[0], __VA_ARGS__)
    WANT("config has 20 problems:");
    WANT("%s: data.crop_size: must be an array of 3 ints, each in [1, 16384], got [32,32]", base);
    WANT("%s: data.workers: must be an int in [0, 64], got 100", base);
    WANT("%s: data.normalization: must be one of \"None\", \"SimpleNorm\", \"CtWindow\", \"MriWindow\", "
         "\"TrimmedNorm\", got \"ctwindow\" (did you mean \"CtWindow\"?)", exp);
    WANT("%s: data.test_crop_size: must be an array of 3 ints, each in [1, 16384], or [], got [64,64]", exp);
    WANT("%s: epochs: unknown key; did you mean train.epochs?", exp);
    WANT("%s: num_epochs: unknown key; did you mean train.epochs?", exp);
    WANT("%s: seed: must be an int in [0, 9007199254740992], got \"abc\"", exp);
    WANT("%s: model.params: must be an object ({ ... }), got 3", exp);
    WANT("%s: output: is a section and must be an object ({ ... }), got \"dir\"", exp);
    WANT("%s: run.threads: must be an int in [0, 4096], got 1.5", exp);
    WANT("%s: run.train: must be true or false, got \"true\" (write true or false without quotes)", exp);
    WANT("%s: train.epoch: unknown key; did you mean train.epochs?", exp);
    WANT("--set train.epochs=2.5: train.epochs: must be an int in [1, 2147483647], got 2.5");
    WANT("%s: train.loss.class_weights: must be an array of numbers, each >= 0, got [1,-1]", exp);
    WANT("%s: train.optimiser: unknown key; did you mean train.optimizer?", exp);
    WANT("%s: train.optimizer.betas: must be an array of 2 numbers, each in [0, 1), got [0.9,1]", exp);
    WANT("%s: train.optimizer.kind: must be one of \"adam\", \"adamw\", \"sgd\", \"rmsprop\", got \"Adam\" "
         "(did you mean \"adam\"?)", exp);
    WANT("%s: train.optimizer.lr: must be a number > 0, got 0", exp);
    WANT("%s: zzz_totally_new: unknown key (docs/config.md lists the keys)", exp);
    WANT("--set cv.splits=1: cv.splits: must be 0 (no cross-validation) or >= 2, got 1");
#undef WANT
    const char *needles[64];
    for (int i = 0; i < n; i++) needles[i] = line[i];
    check_problems(cfg, needles, n, "all problems at once");
    int lines = 0;
    for (const char *p = ie_config_problems(cfg); (p = strchr(p, '\n')); p++) lines++;
    CHECK(lines == n - 1, "%d problem lines, want %d", lines, n - 1);
    CHECK(ie_config_text(cfg) == NULL, "no text after a failed resolve");
    ie_config_free(cfg);

    /* Cross-key rules. */
    cfg = fresh();
    CHECK_OK(ie_config_add_text(cfg, "{\"data\": {\"split\": {\"train\": 0.8, \"val\": 0.1}}, "
                                     "\"cv\": {\"splits\": 5, \"split_index\": 5}}", "x.json"));
    check_problems(cfg,
                   (const char *[]){"config has 2 problems",
                                    "x.json, default: data.split: train + val + test must be 1, "
                                    "got 0.8 + 0.1 + 0.15 = 1.05",
                                    "x.json: cv.split_index: must be -1 or 0 to 4 (cv.splits is 5), got 5"},
                   3, "cross-key rules");
    CHECK(strcmp(ie_config_problems(cfg), strchr(ie_error_message(), '\n') + 1) == 0,
          "the message holds the whole list when it fits");
    ie_config_free(cfg);
    cfg = fresh();
    CHECK_OK(ie_config_add_text(cfg, "{\"cv\": {\"split_index\": 2}, \"train\": {\"optimizer\": "
                                     "{\"kind\": \"sgd\", \"nesterov\": true, \"momentum\": 0}}}", "y.json"));
    check_problems(cfg,
                   (const char *[]){"y.json: cv.split_index: is 2 but cv.splits is 0",
                                    "y.json: train.optimizer.nesterov: sgd's Nesterov momentum needs"},
                   2, "more cross-key rules");
    ie_config_free(cfg);
    /* A dotted key in a file is not a path. */
    cfg = fresh();
    CHECK_OK(ie_config_add_text(cfg, "{\"train.epochs\": 3, \"model\": {\"params\": {\"a.b\": 1}}}", "dot.json"));
    check_problems(cfg,
                   (const char *[]){"config has 1 problem:", "dot.json: train.epochs: a key cannot contain '.'"}, 2,
                   "dotted key");
    ie_config_free(cfg);
    /* The same split written as 0.7/0.2/0.1 adds up (within rounding). */
    cfg = resolved_text("{\"data\": {\"split\": {\"train\": 0.7, \"val\": 0.2, \"test\": 0.1}}}");
    ie_config_free(cfg);

    /* Far too many problems: the message is cut at a line, the list keeps them all. */
    {
        char big[20000];
        size_t o = 0;
        o += (size_t)snprintf(big + o, sizeof big - o, "{");
        for (int i = 0; i < 100; i++)
            o += (size_t)snprintf(big + o, sizeof big - o, "%s\"unknown_key_number_%03d\": %d", i ? ", " : "", i, i);
        snprintf(big + o, sizeof big - o, "}");
        cfg = fresh();
        CHECK_OK(ie_config_add_text(cfg, big, "many.json"));
        check_problems(cfg, (const char *[]){"config has 100 problems:"}, 1, "many problems");
        const char *more = strstr(ie_error_message(), "  ... and ");
        CHECK(more && strstr(more, " more (ie_config_problems lists all)\n") && more[-1] == '\n',
              "message cut at a whole line with a count: %s", ie_error_message());
        const char *all = ie_config_problems(cfg);
        int lines = 0;
        for (const char *p = all; (p = strchr(p, '\n')); p++) lines++;
        CHECK(lines == 100 && strstr(all, "many.json: unknown_key_number_099: unknown key"),
              "problem list has %d lines", lines);
        ie_config_free(cfg);
    }
}

/* Every integer key has an upper bound (readers keep them in C ints): a value
 * past it, a fraction or one below the range is refused naming the key, the
 * value and the range, never wrapped by a cast; the bounds themselves pass. */
static void test_int_bounds(void) {
    static const struct {
        const char *set, *want;
    } bad[] = {
        {"train.epochs=1e10", "--set train.epochs=1e10: train.epochs: must be an int in [1, 2147483647], got 10000000000"},
        {"train.epochs=2147483648", "train.epochs: must be an int in [1, 2147483647], got 2147483648"},
        {"train.epochs=2.5", "--set train.epochs=2.5: train.epochs: must be an int in [1, 2147483647], got 2.5"},
        {"train.epochs=-1", "--set train.epochs=-1: train.epochs: must be an int in [1, 2147483647], got -1"},
        {"data.max_subjects=1e10", "data.max_subjects: must be an int in [0, 2147483647], got 10000000000"},
        {"data.max_subjects=2.5", "data.max_subjects: must be an int in [0, 2147483647], got 2.5"},
        {"data.max_subjects=-1", "data.max_subjects: must be an int in [0, 2147483647], got -1"},
        {"data.cache_mb=4294967296", "data.cache_mb: must be an int in [0, 2147483647], got 4294967296"},
        {"data.crop_size=[32,32,1e10]", "data.crop_size: must be an array of 3 ints, each in [1, 16384], got "
                                        "[32,32,10000000000]"},
        {"data.crop_size=[32,32.5,32]", "data.crop_size: must be an array of 3 ints, each in [1, 16384]"},
        {"data.pad_multiple=16385", "data.pad_multiple: must be an int in [1, 16384], got 16385"},
        {"train.schedule.milestones=[1,3e9]", "train.schedule.milestones: must be an array of ints, each in [0, "
                                              "2147483647], got [1,3000000000]"},
        {"seed=1e16", "seed: must be an int in [0, 9007199254740992], got 1e16"},
        {"cv.split_index=64", "cv.split_index: must be an int in [-1, 63], got 64"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ie_config *cfg = fresh();
        CHECK_OK(ie_config_set(cfg, bad[i].set, NULL));
        check_problems(cfg, (const char *[]){"config has 1 problem:", bad[i].want}, 2, bad[i].set);
        ie_config_free(cfg);
    }
    ie_config *cfg = resolved_text("{\"train\": {\"epochs\": 2147483647}, \"data\": {\"max_subjects\": 2147483647, "
                                   "\"crop_size\": [16384, 1, 16384]}, \"seed\": 9007199254740992}");
    CHECK(get_int(cfg, "train.epochs") == 2147483647, "train.epochs at INT_MAX");
    CHECK(get_int(cfg, "data.max_subjects") == 2147483647, "data.max_subjects at INT_MAX");
    CHECK(get_int(cfg, "seed") == 9007199254740992LL, "seed at 2^53");
    ie_config_free(cfg);
}

static void test_canonical(void) {
    /* Same content, other key order, other number spellings, white space. */
    ie_config *a = resolved_text("{\"train\": {\"optimizer\": {\"lr\": 1e-3, \"betas\": [0.9, 0.999]}, "
                                 "\"epochs\": 3.0}, \"seed\": 42, \"model\": {\"params\": {\"b\": 1, \"a\": [2, "
                                 "{\"y\": 1, \"x\": \"q\\\"\\n\"}]}}}");
    ie_config *b = resolved_text("{\"model\":{\"params\":{\"a\":[2,{\"x\":\"q\\\"\\u000a\",\"y\":1.0}],\"b\":1e0}},"
                                 "\"seed\":42,\"train\":{\"epochs\":3,\"optimizer\":{\"lr\":0.001}}}");
    CHECK(strcmp(ie_config_text(a), ie_config_text(b)) == 0, "canonical text differs:\n%s\n%s", ie_config_text(a),
          ie_config_text(b));
    check_json(a, "model.params", "{\"a\":[2,{\"x\":\"q\\\"\\n\",\"y\":1}],\"b\":1}");
    check_json(a, "train.optimizer",
               "{\"amsgrad\":false,\"betas\":[0.9,0.999],\"eps\":1e-8,\"kind\":\"adam\",\"lr\":0.001,"
               "\"momentum\":0.9,\"nesterov\":false,\"weight_decay\":0}");
    char ha[65], hb[65], hc[65];
    CHECK_OK(ie_config_sha256(a, ha));
    CHECK_OK(ie_config_sha256(b, hb));
    CHECK(strcmp(ha, hb) == 0, "hashes differ");
    uint8_t d[32];
    ie_sha256_buffer(ie_config_text(a), strlen(ie_config_text(a)), d);
    ie_sha256_hex(d, hc);
    CHECK(strcmp(ha, hc) == 0, "hash is the SHA-256 of the canonical text");
    /* Resolving again, or reading back the pretty form, gives the same bytes. */
    CHECK_OK(ie_config_resolve(a));
    CHECK_OK(ie_config_sha256(a, hc));
    CHECK(strcmp(ha, hc) == 0, "hash changes on a second resolve");
    ie_config *c = resolved_text(ie_config_text_pretty(a));
    CHECK(strcmp(ie_config_text(a), ie_config_text(c)) == 0, "pretty text reads back to the same config");
    CHECK(strstr(ie_config_text_pretty(a), "\n  \"seed\": 42,\n") != NULL, "pretty form is indented");
    ie_config_free(c);
    /* One changed value changes the hash. */
    c = resolved_text("{\"train\": {\"epochs\": 4}}");
    CHECK_OK(ie_config_sha256(c, hc));
    CHECK(strcmp(ha, hc) != 0, "different configs, same hash");
    ie_config_free(c);

    /* Number spellings. */
    c = resolved_text("{\"model\": {\"params\": {\"n\": [0.1, -0.0, 1e21, 1e-300, 123456789012, 2.5e-7, "
                      "0.30000000000000004, -17, 1.5e300]}}}");
    check_json(c, "model.params.n", "[0.1,0,1e21,1e-300,123456789012,2.5e-7,0.30000000000000004,-17,1.5e300]");
    ie_config_free(c);
    ie_config_free(a);
    ie_config_free(b);
}

static void test_getters(void) {
    ie_config *cfg = resolved_text(
        "{\"model\": {\"params\": {\"k\": 1.5, \"big\": 2147483648, \"low\": -2147483649, \"max\": 2147483647}}}");
    /* The host's int getter: int's whole range, a value beyond it refused by name. */
    int i32 = 0;
    CHECK(ie_config_get_int32(cfg, "model.params.max", &i32) == IE_OK && i32 == 2147483647, "int32 INT_MAX read");
    CHECK_FAILS(ie_config_get_int32(cfg, "model.params.big", &i32), IE_ERR_CONFIG, "model.params.big is 2147483648");
    CHECK_FAILS(ie_config_get_int32(cfg, "model.params.low", &i32), IE_ERR_CONFIG, "model.params.low is -2147483649");
    CHECK_FAILS(ie_config_get_int32(cfg, "model.params.k", &i32), IE_ERR_CONFIG, "is 1.5, not an int");
    CHECK_FAILS(ie_config_get_int(cfg, "model.name", NULL), IE_ERR_CONFIG,
                "config key model.name is \"HelloWorld\", not an int");
    CHECK_FAILS(ie_config_get_int(cfg, "model.params.k", NULL), IE_ERR_CONFIG, "is 1.5, not an int");
    CHECK(get_num(cfg, "model.params.k") == 1.5, "number read");
    CHECK(get_num(cfg, "seed") == 42, "an int reads as a number too");
    CHECK_FAILS(ie_config_get_bool(cfg, "seed", NULL), IE_ERR_CONFIG, "not true or false");
    CHECK_FAILS(ie_config_get_string(cfg, "train", NULL), IE_ERR_CONFIG, "not a string");
    CHECK_FAILS(ie_config_get_int(cfg, "train.nope", NULL), IE_ERR_CONFIG, "config has no key \"train.nope\"");
    CHECK_FAILS(ie_config_get_int(cfg, "seed.deeper", NULL), IE_ERR_CONFIG, "no key");
    int64_t two[2];
    int n;
    CHECK_FAILS(ie_config_get_int_array(cfg, "data.crop_size", two, 2, &n), IE_ERR_CONFIG,
                "data.crop_size has 3 elements, more than the 2");
    CHECK_FAILS(ie_config_get_int_array(cfg, "train.optimizer.betas", two, 2, &n), IE_ERR_CONFIG,
                "not an array of ints");
    CHECK_FAILS(ie_config_get_json(cfg, "missing", &(char *){NULL}), IE_ERR_CONFIG, "no key");
    CHECK(ie_config_has(cfg, "train.optimizer") && !ie_config_has(cfg, "train.optimizer.nope"), "has");
    CHECK(ie_config_root(cfg) != NULL, "root");
    CHECK(ie_config_source(cfg, "nope") == NULL, "source of a missing key");
    CHECK_FAILS(ie_config_resolve(NULL), IE_ERR_INVALID_ARG, "must not be NULL");
    ie_config_free(cfg);
    ie_config_free(NULL);
}

int main(void) {
    if (!mkdtemp(root_dir)) {
        fprintf(stderr, "FAIL: mkdtemp\n");
        return 1;
    }
    test_defaults();
    test_extends();
    test_extends_errors();
    test_syntax_errors();
    test_overrides();
    test_args();
    test_schema_errors();
    test_int_bounds();
    test_canonical();
    test_getters();
    nftw(root_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return test_summary();
}
