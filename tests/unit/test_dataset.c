/* Dataset CSV reading: grouping by subject, RFC 4180 quoting, line endings,
 * BOM, blank lines, and errors that name file:line. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_dataset_XXXXXX";
static char written[64][PATH_MAX];
static int n_written;

static const char *write_file(const char *name, const char *text, size_t len) {
    char *path = written[n_written++];
    snprintf(path, PATH_MAX, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    return path;
}
#define WRITE(name, literal) write_file(name, literal, sizeof(literal) - 1)

static const char *value(const ie_dataset_item *it, int row, const char *col) {
    const char *v = ie_dataset_item_value(it, row, col);
    return v ? v : "(null)";
}

static void test_innereye_layout(void) {
    const char *path = WRITE("dataset.csv",
                             "subject,filePath,channel,institutionId\n"
                             "1,img/1_ct.nii.gz,ct,A\n"
                             "2,img/2_ct.nii.gz,ct,B\n"
                             "1,img/1_liver.nii.gz,liver,A\n"
                             "2,img/2_liver.nii.gz,liver,B\n"
                             "10,img/10_ct.nii.gz,ct,A\n"
                             "1,img/1_mr.nii.gz,mr,A\n");
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_load(path, NULL, &ds));
    CHECK(ie_dataset_count(ds) == 3, "3 subjects, got %d", ie_dataset_count(ds));
    const ie_dataset_item *a = ie_dataset_item_at(ds, 0), *b = ie_dataset_item_at(ds, 1), *c = ie_dataset_item_at(ds, 2);
    CHECK(strcmp(a->subject, "1") == 0 && strcmp(b->subject, "2") == 0 && strcmp(c->subject, "10") == 0,
          "subjects in order of first appearance: %s %s %s", a->subject, b->subject, c->subject);
    CHECK(a->n_rows == 3 && b->n_rows == 2 && c->n_rows == 1, "rows per subject %d %d %d", a->n_rows, b->n_rows,
          c->n_rows);
    CHECK(a->n_columns == 4 && strcmp(a->columns[2], "channel") == 0, "columns");
    /* rows keep file order within a subject, values row-major */
    CHECK(strcmp(a->values[0 * 4 + 2], "ct") == 0 && strcmp(a->values[1 * 4 + 2], "liver") == 0 &&
              strcmp(a->values[2 * 4 + 2], "mr") == 0,
          "subject 1 channels: %s %s %s", a->values[2], a->values[6], a->values[10]);
    CHECK(strcmp(value(a, 2, "filePath"), "img/1_mr.nii.gz") == 0, "item_value: %s", value(a, 2, "filePath"));
    CHECK(ie_dataset_item_value(a, 0, "nope") == NULL && ie_dataset_item_value(a, 3, "channel") == NULL,
          "missing column / row give NULL");
    CHECK(ie_dataset_find(ds, "10") == 2 && ie_dataset_find(ds, "2") == 1 && ie_dataset_find(ds, "3") == -1,
          "find");
    CHECK(ie_dataset_item_at(ds, 3) == NULL && ie_dataset_item_at(ds, -1) == NULL, "item_at out of range");
    char real[PATH_MAX];
    CHECK(realpath(tmpdir, real) && strcmp(a->root, real) == 0, "root is the CSV folder: %s vs %s", a->root, real);
    CHECK(ie_dataset_line(ds, 0, 2) == 7 && ie_dataset_line(ds, 1, 1) == 5, "line numbers %d %d",
          ie_dataset_line(ds, 0, 2), ie_dataset_line(ds, 1, 1));
    ie_dataset_free(ds);
}

static void test_quoting_and_line_endings(void) {
    /* BOM, CRLF, quoted comma, doubled quotes, a quoted field spanning lines,
     * blank and whitespace-only lines, no final line break. */
    const char text[] = "\xEF\xBB\xBF" "id,\"file, path\",note\r\n"
                        "\r\n"
                        "a,\"x,y.nii\",\"say \"\"hi\"\"\"\r\n"
                        "   \r\n"
                        "b,plain.nii,\"two\r\nlines\"\r\n"
                        "a,,trailing\r\n"
                        "\n"
                        "c, spaced ,\"\"";
    const char *path = write_file("quoted.csv", text, sizeof text - 1);
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_load(path, "id", &ds));
    CHECK(ie_dataset_count(ds) == 3, "3 subjects, got %d", ie_dataset_count(ds));
    CHECK(ie_dataset_column_count(ds) == 3 && strcmp(ie_dataset_columns(ds)[0], "id") == 0 &&
              strcmp(ie_dataset_columns(ds)[1], "file, path") == 0,
          "header with BOM stripped and a quoted name: '%s' '%s'", ie_dataset_columns(ds)[0], ie_dataset_columns(ds)[1]);
    const ie_dataset_item *a = ie_dataset_item_at(ds, 0), *b = ie_dataset_item_at(ds, 1), *c = ie_dataset_item_at(ds, 2);
    CHECK(strcmp(value(a, 0, "file, path"), "x,y.nii") == 0, "embedded comma: %s", value(a, 0, "file, path"));
    CHECK(strcmp(value(a, 0, "note"), "say \"hi\"") == 0, "doubled quotes: %s", value(a, 0, "note"));
    CHECK(strcmp(value(b, 0, "note"), "two\r\nlines") == 0, "field spanning lines: %s", value(b, 0, "note"));
    CHECK(a->n_rows == 2 && strcmp(value(a, 1, "file, path"), "") == 0 && strcmp(value(a, 1, "note"), "trailing") == 0,
          "empty field");
    CHECK(strcmp(value(c, 0, "file, path"), " spaced ") == 0 && strcmp(value(c, 0, "note"), "") == 0,
          "spaces kept, empty quoted field, no final newline");
    /* physical lines: b starts on line 5, the second 'a' row on line 7 */
    CHECK(ie_dataset_line(ds, 1, 0) == 5 && ie_dataset_line(ds, 0, 1) == 7, "lines %d %d", ie_dataset_line(ds, 1, 0),
          ie_dataset_line(ds, 0, 1));
    ie_dataset_free(ds);

    /* LF-only and lone-CR files, and a trailing comma giving an empty last column */
    ie_dataset *m = NULL;
    const char mac[] = "subject,x,y\rs1,1,\rs2,2,z\r";
    CHECK_OK(ie_dataset_parse(mac, sizeof mac - 1, "mac.csv", "/data", NULL, &m));
    CHECK(ie_dataset_count(m) == 2 && ie_dataset_column_count(m) == 3, "lone CR line ends");
    CHECK(strcmp(ie_dataset_item_at(m, 0)->root, "/data") == 0, "root from parse");
    ie_dataset_free(m);
}

static void expect_error(const char *name, const char *text, size_t len, const char *subject_column,
                         ie_status code, const char *needle1, const char *needle2) {
    const char *path = write_file(name, text, len);
    ie_dataset *ds = (ie_dataset *)1;
    ie_error_clear();
    ie_status st = ie_dataset_load(path, subject_column, &ds);
    CHECK(st == code, "%s: status %s, expected %s (%s)", name, ie_status_name(st), ie_status_name(code),
          ie_error_message());
    CHECK(ds == NULL, "%s: out is NULL on failure", name);
    CHECK(strstr(ie_error_message(), needle1) != NULL, "%s: message \"%s\" lacks \"%s\"", name, ie_error_message(),
          needle1);
    if (needle2)
        CHECK(strstr(ie_error_message(), needle2) != NULL, "%s: message \"%s\" lacks \"%s\"", name,
              ie_error_message(), needle2);
}
#define EXPECT_ERROR(name, literal, col, code, n1, n2) expect_error(name, literal, sizeof(literal) - 1, col, code, n1, n2)

static void test_errors(void) {
    EXPECT_ERROR("empty.csv", "", NULL, IE_ERR_IO, "empty.csv", "empty");
    EXPECT_ERROR("blank.csv", "\xEF\xBB\xBF\n\r\n  \n", NULL, IE_ERR_IO, "blank.csv", "empty");
    EXPECT_ERROR("header_only.csv", "subject,filePath\n\n", NULL, IE_ERR_IO, "header_only.csv:1:", "no rows");
    EXPECT_ERROR("ragged.csv", "subject,filePath,channel\n1,a,ct\n\n1,\"b\nc\",mr\n2,d\n", NULL, IE_ERR_IO,
                 "ragged.csv:6:", "2 fields, the header (line 1) has 3");
    EXPECT_ERROR("long.csv", "subject,filePath\n1,a,extra\n", NULL, IE_ERR_IO, "long.csv:2:", "3 fields");
    EXPECT_ERROR("nosubject.csv", "\nid,filePath\n1,a\n", NULL, IE_ERR_IO, "nosubject.csv:2:", "no subject column 'subject'");
    EXPECT_ERROR("nosubject2.csv", "subject,filePath\n1,a\n", "patient", IE_ERR_IO, "nosubject2.csv:1:",
                 "'subject', 'filePath'");
    EXPECT_ERROR("dup.csv", "subject,filePath,channel,filePath\n1,a,b,c\n", NULL, IE_ERR_IO, "dup.csv:1:",
                 "'filePath' twice (columns 2 and 4)");
    EXPECT_ERROR("noname.csv", "subject,,channel\n1,a,b\n", NULL, IE_ERR_IO, "noname.csv:1:", "column 2");
    EXPECT_ERROR("trailing_comma_header.csv", "subject,channel,\n1,a,\n", NULL, IE_ERR_IO,
                 "trailing_comma_header.csv:1:", "column 3 of the header has no name");
    EXPECT_ERROR("unterminated.csv", "subject,filePath\n1,a\n2,\"open\n3,b\n", NULL, IE_ERR_IO, "unterminated.csv:3:",
                 "never closed");
    EXPECT_ERROR("after_quote.csv", "subject,filePath\n1,\"a\"b\n", NULL, IE_ERR_IO, "after_quote.csv:2:",
                 "after the closing quote of field 2");
    EXPECT_ERROR("empty_subject.csv", "subject,filePath\n1,a\n,b\n", NULL, IE_ERR_IO, "empty_subject.csv:3:",
                 "subject column 'subject' is empty");
    EXPECT_ERROR("nul.csv", "subject,filePath\n1,a\0b\n", NULL, IE_ERR_IO, "nul.csv:2:", "NUL");

    ie_dataset *ds = NULL;
    CHECK_FAILS(ie_dataset_load("/nonexistent/dir/dataset.csv", NULL, &ds), IE_ERR_IO, "/nonexistent/dir/dataset.csv");
    CHECK(ds == NULL, "no dataset on failure");
    CHECK_FAILS(ie_dataset_load(NULL, NULL, &ds), IE_ERR_INVALID_ARG, "path");
}

static void test_many_subjects(void) {
    /* Enough subjects to grow the subject table several times. */
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "subject,filePath,channel\n");
    const int n = 3000;
    for (int ch = 0; ch < 2; ch++)
        for (int s = 0; s < n; s++)
            len += (size_t)snprintf(text + len, cap - len, "p%05d,f%d_%d.nii,c%d\n", (s * 7919) % n, s, ch, ch);
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_parse(text, len, "big.csv", NULL, NULL, &ds));
    CHECK(ie_dataset_count(ds) == n, "%d subjects, got %d", n, ie_dataset_count(ds));
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const ie_dataset_item *it = ie_dataset_item_at(ds, i);
        char want[16];
        snprintf(want, sizeof want, "p%05d", (i * 7919) % n);
        if (strcmp(it->subject, want) != 0 || it->n_rows != 2 || ie_dataset_find(ds, want) != i ||
            strcmp(value(it, 1, "channel"), "c1") != 0)
            bad++;
    }
    CHECK(bad == 0, "%d subjects grouped wrongly", bad);
    ie_dataset_free(ds);
    free(text);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_innereye_layout();
    test_quoting_and_line_endings();
    test_errors();
    test_many_subjects();
    for (int i = 0; i < n_written; i++) remove(written[i]);
    rmdir(tmpdir);
    return test_summary();
}
