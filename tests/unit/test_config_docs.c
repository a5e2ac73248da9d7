/* docs/config.md stays in step with the code: it mentions every schema key
 * and every command-line flag, and its two reference tables are exactly the
 * ones generated from core/config (ie_config_schema_markdown and
 * ie_config_flags_markdown).
 *
 * After adding a key or a flag, regenerate the tables in place with
 *   IE_UPDATE_DOCS=1 build/tests/test_config_docs
 * (it rewrites only the text between the BEGIN/END markers). */
#include "core/config/config_impl.h"
#include "innereye/config.h"
#include "test_util.h"

/* IE_FIXTURE_DIR is <source>/tests/reference/fixtures. */
#define DOC_PATH IE_FIXTURE_DIR "/../../../docs/config.md"

typedef struct generated_table {
    const char *name; /* the marker: <!-- BEGIN generated: NAME --> */
    ie_status (*make)(char **out);
} generated_table;

static const generated_table tables[] = {
    {"keys", ie_config_schema_markdown},
    {"flags", ie_config_flags_markdown},
};

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

/* Finds the text between the table's markers (after the BEGIN line's
 * newline, up to the END marker). */
static bool find_region(const char *doc, const char *name, const char **begin, const char **end) {
    char open[128], close[128];
    snprintf(open, sizeof open, "<!-- BEGIN generated: %s -->\n", name);
    snprintf(close, sizeof close, "<!-- END generated: %s -->", name);
    const char *b = strstr(doc, open);
    const char *e = b ? strstr(b, close) : NULL;
    if (!b || !e) return false;
    *begin = b + strlen(open);
    *end = e;
    return true;
}

/* Replaces each region by its generated table and writes the file back. */
static int update_doc(char *doc) {
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        const char *b, *e;
        char *table = NULL;
        if (!find_region(doc, tables[t].name, &b, &e) || tables[t].make(&table) != IE_OK) {
            fprintf(stderr, "cannot update the %s table of %s\n", tables[t].name, DOC_PATH);
            return 1;
        }
        size_t head = (size_t)(b - doc), tail = strlen(e);
        char *next = malloc(head + strlen(table) + tail + 1);
        memcpy(next, doc, head);
        strcpy(next + head, table);
        strcat(next, e);
        free(doc);
        ie_config_string_free(table);
        doc = next;
    }
    FILE *f = fopen(DOC_PATH, "wb");
    int ok = f && fputs(doc, f) >= 0;
    if (f) ok = fclose(f) == 0 && ok;
    free(doc);
    printf("%s %s\n", ok ? "updated" : "FAILED to write", DOC_PATH);
    return ok ? 0 : 1;
}

int main(void) {
    char *doc = read_all(DOC_PATH);
    CHECK(doc != NULL, "cannot read %s", DOC_PATH);
    if (!doc) return test_summary();
    const char *update = getenv("IE_UPDATE_DOCS");
    if (update && strcmp(update, "1") == 0) return update_doc(doc);

    /* Every key and flag is mentioned (in backticks), whatever the tables say. */
    char needle[256];
    for (int i = 0; i < ie_config_schema_count(); i++) {
        snprintf(needle, sizeof needle, "`%s`", ie_config_schema_at(i)->path);
        CHECK(strstr(doc, needle), "docs/config.md does not mention the config key %s", needle);
    }
    for (int i = 0; i < ie_config_flag_count(); i++) {
        snprintf(needle, sizeof needle, "`--%s", ie_config_flag_at(i)->name);
        CHECK(strstr(doc, needle), "docs/config.md does not mention the flag %s`", needle);
    }

    /* The tables are exactly the generated ones. */
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        const char *b, *e;
        char *table = NULL;
        CHECK_OK(tables[t].make(&table));
        bool found = find_region(doc, tables[t].name, &b, &e);
        CHECK(found, "docs/config.md lacks the markers of the %s table", tables[t].name);
        if (found) {
            size_t n = (size_t)(e - b);
            bool same = n == strlen(table) && memcmp(b, table, n) == 0;
            CHECK(same,
                  "the %s table in docs/config.md differs from the code's; regenerate it with\n"
                  "  IE_UPDATE_DOCS=1 build/tests/test_config_docs\nexpected:\n%s",
                  tables[t].name, table);
        }
        ie_config_string_free(table);
    }
    free(doc);
    return test_summary();
}
