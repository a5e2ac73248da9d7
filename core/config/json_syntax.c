/* core/config - finds where and why JSON text is malformed.
 *
 * cJSON builds the trees, but it accepts some text that RFC 8259 refuses
 * (leading zeros, raw line breaks in strings) and on failure its error
 * pointer often lands at the end of the text ({"a": 1,} reports the end, not
 * the stray comma).  So every config goes through this small checker first,
 * which stops at the first offending character and says what it expected. */
#include <string.h>

#include "core/config/config_impl.h"

#define MAX_DEPTH 1000 /* cJSON's CJSON_NESTING_LIMIT */

typedef struct scan {
    const char *text;
    size_t pos;
    const char *error; /* first error found, NULL while none */
    size_t error_pos;
} scan;

static bool fail(scan *s, const char *why) {
    if (!s->error) {
        s->error = why;
        s->error_pos = s->pos;
    }
    return false;
}

static void skip_ws(scan *s) {
    while (s->text[s->pos] == ' ' || s->text[s->pos] == '\t' || s->text[s->pos] == '\n' || s->text[s->pos] == '\r')
        s->pos++;
}

static bool at_end(const scan *s) { return s->text[s->pos] == '\0'; }

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static bool scan_string(scan *s) {
    if (s->text[s->pos] == '\'') return fail(s, "strings and keys need double quotes (\"...\"), not single quotes");
    if (s->text[s->pos] != '"') return fail(s, "expected a key in double quotes");
    s->pos++;
    for (;;) {
        unsigned char c = (unsigned char)s->text[s->pos];
        if (c == '\0') return fail(s, "the string is not closed (a \" is missing)");
        if (c == '"') {
            s->pos++;
            return true;
        }
        if (c < 0x20) return fail(s, "raw control character or line break inside a string (write \\n, \\t)");
        if (c == '\\') {
            char e = s->text[s->pos + 1];
            if (e == 'u') {
                for (int i = 2; i < 6; i++)
                    if (!is_hex(s->text[s->pos + i])) {
                        s->pos += (size_t)i;
                        return fail(s, "\\u needs four hex digits");
                    }
                s->pos += 6;
                continue;
            }
            if (!e || !strchr("\"\\/bfnrt", e)) {
                s->pos++;
                return fail(s, "unknown escape in a string (use \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            }
            s->pos += 2;
            continue;
        }
        s->pos++;
    }
}

static bool scan_number(scan *s) {
    const char *t = s->text;
    if (t[s->pos] == '-') s->pos++;
    if (t[s->pos] == '0') {
        s->pos++;
        if (is_digit(t[s->pos])) return fail(s, "numbers cannot have leading zeros");
    } else if (is_digit(t[s->pos])) {
        while (is_digit(t[s->pos])) s->pos++;
    } else {
        return fail(s, "expected digits in the number");
    }
    if (t[s->pos] == '.') {
        s->pos++;
        if (!is_digit(t[s->pos])) return fail(s, "expected digits after the decimal point");
        while (is_digit(t[s->pos])) s->pos++;
    }
    if (t[s->pos] == 'e' || t[s->pos] == 'E') {
        s->pos++;
        if (t[s->pos] == '+' || t[s->pos] == '-') s->pos++;
        if (!is_digit(t[s->pos])) return fail(s, "expected digits in the exponent");
        while (is_digit(t[s->pos])) s->pos++;
    }
    return true;
}

static bool scan_value(scan *s, int depth);

static bool scan_container(scan *s, int depth, bool object) {
    const char close = object ? '}' : ']';
    if (depth > MAX_DEPTH) return fail(s, "nested deeper than 1000 levels");
    s->pos++; /* { or [ */
    skip_ws(s);
    if (s->text[s->pos] == close) {
        s->pos++;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (at_end(s)) return fail(s, "the text ends before the JSON is complete");
        if (object) {
            if (s->text[s->pos] == close) return fail(s, "trailing comma: remove the ',' before '}'");
            if (!scan_string(s)) return false;
            skip_ws(s);
            if (s->text[s->pos] != ':') return fail(s, at_end(s) ? "the text ends before the JSON is complete"
                                                                  : "expected ':' after the key");
            s->pos++;
        } else if (s->text[s->pos] == close) {
            return fail(s, "trailing comma: remove the ',' before ']'");
        }
        if (!scan_value(s, depth + 1)) return false;
        skip_ws(s);
        char c = s->text[s->pos];
        if (c == close) {
            s->pos++;
            return true;
        }
        if (c != ',') {
            if (at_end(s)) return fail(s, "the text ends before the JSON is complete");
            return fail(s, object ? "expected ',' or '}' (is a comma missing?)"
                                  : "expected ',' or ']' (is a comma missing?)");
        }
        s->pos++;
    }
}

static bool scan_literal(scan *s, const char *word) {
    size_t n = strlen(word);
    if (strncmp(s->text + s->pos, word, n) != 0) return fail(s, "expected a value");
    s->pos += n;
    return true;
}

static bool scan_value(scan *s, int depth) {
    skip_ws(s);
    char c = s->text[s->pos];
    switch (c) {
    case '\0': return fail(s, "the text ends before the JSON is complete");
    case '{': return scan_container(s, depth, true);
    case '[': return scan_container(s, depth, false);
    case '"':
    case '\'': return scan_string(s);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default:
        if (c == '-' || is_digit(c)) return scan_number(s);
        if (c == '/') return fail(s, "JSON has no comments");
        if (c == 'T' || c == 'F' || c == 'N') return fail(s, "JSON writes true, false and null in lower case");
        return fail(s, "expected a value (a number, \"string\", true, false, null, [...] or {...})");
    }
}

size_t ie_json_syntax_error(const char *text, const char **why) {
    scan s = {.text = text};
    if (scan_value(&s, 0)) {
        skip_ws(&s);
        if (!at_end(&s)) fail(&s, "unexpected text after the end of the JSON");
    }
    *why = s.error;
    return s.error ? s.error_pos : (size_t)-1;
}
