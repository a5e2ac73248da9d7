/* core/dicom - structure colours (see colours.h). */
#include <stdio.h>
#include <string.h>

#include "core/dicom/colours.h"

/* Distinct on a grey CT or MR background; the first two are those of the
 * hippocampus example (anterior, posterior) in InnerEye's configs. */
static const uint8_t palette[][3] = {{255, 0, 0},   {0, 255, 0},   {0, 0, 255},   {255, 255, 0}, {0, 255, 255},
                                     {255, 0, 255}, {255, 128, 0}, {128, 0, 255}, {0, 128, 255}, {255, 0, 128},
                                     {128, 255, 0}, {0, 255, 128}};
#define N_PALETTE (int)(sizeof palette / sizeof palette[0])

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ie_status ie_class_colours_from_config(const ie_config *cfg, int n_classes, uint8_t (*colours)[3]) {
    const char *text[256];
    int n = 0;
    IE_TRY(ie_config_get_string_array(cfg, "data.class_colours", text, 256, &n));
    if (n > 0 && n != n_classes - 1)
        return ie_error_set(IE_ERR_CONFIG, "data.class_colours has %d colours but data.classes %d structures after "
                            "the background; give one \"#RRGGBB\" per structure, or [] for the default palette", n,
                            n_classes - 1);
    memset(colours[0], 0, 3);
    for (int c = 1; c < n_classes; c++) {
        if (n == 0) {
            memcpy(colours[c], palette[(c - 1) % N_PALETTE], 3);
            continue;
        }
        const char *t = text[c - 1];
        int ok = strlen(t) == 7 && t[0] == '#';
        for (int i = 0; ok && i < 3; i++) {
            int hi = hex(t[1 + 2 * i]), lo = hex(t[2 + 2 * i]);
            ok = hi >= 0 && lo >= 0;
            if (ok) colours[c][i] = (uint8_t)(hi * 16 + lo);
        }
        if (!ok)
            return ie_error_set(IE_ERR_CONFIG, "data.class_colours[%d] is \"%s\"; a colour is written \"#RRGGBB\" "
                                "in hexadecimal, for example \"#FF8000\"", c - 1, t);
    }
    return IE_OK;
}
