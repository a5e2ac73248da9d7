/* core/io - series selection in DICOM folders (see dicom_select.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/io/dicom_select.h"
#include "innereye/image_io.h"

/* Process-wide: set by the host from the config before any image is read,
 * and read by every loader thread (plugins' reads included). */
static char selector[256];
static pthread_mutex_t selector_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const kinds[] = {"uid=", "modality=", "description="};

ie_status ie_image_dicom_series_select(const char *text) {
    if (!text) text = "";
    bool known = !text[0];
    for (int i = 0; i < 3; i++)
        if (!strncmp(text, kinds[i], strlen(kinds[i])) && text[strlen(kinds[i])]) known = true;
    if (!known || strlen(text) >= sizeof selector)
        return ie_error_set(IE_ERR_CONFIG, "DICOM series selector \"%s\": give uid=<Series Instance UID>, "
                            "modality=<CT, MR, ...> or description=<Series Description> (at most %zu characters)",
                            text, sizeof selector - 1);
    pthread_mutex_lock(&selector_lock);
    snprintf(selector, sizeof selector, "%s", text);
    pthread_mutex_unlock(&selector_lock);
    return IE_OK;
}

const char *ie_image_dicom_series_selector(void) { return selector; }

static bool matches(const ie_dicom_series_entry *e, const char *sel) {
    if (!strncmp(sel, "uid=", 4)) return !strcmp(e->uid, sel + 4);
    if (!strncmp(sel, "modality=", 9)) return !strcasecmp(e->modality, sel + 9);
    if (!strncmp(sel, "description=", 12)) return !strcasecmp(e->description, sel + 12);
    return false;
}

static void list_series(const ie_dicom_series_entry *list, int n, char *buf, size_t size) {
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "\n  uid=%s  modality=%s  description=\"%s\"  series number %s, %d file%s",
                 list[i].uid, list[i].modality[0] ? list[i].modality : "(none)", list[i].description,
                 list[i].number[0] ? list[i].number : "(none)", list[i].n_files, list[i].n_files == 1 ? "" : "s");
    }
}

ie_status ie_dicom_series_pick(const char *dir, char uid[IE_DICOM_UID_MAX]) {
    char sel[sizeof selector];
    pthread_mutex_lock(&selector_lock);
    snprintf(sel, sizeof sel, "%s", selector);
    pthread_mutex_unlock(&selector_lock);
    ie_dicom_series_entry *list = NULL;
    int n = 0, found = -1, count = 0;
    IE_TRY(ie_dicom_list_series(dir, &list, &n));
    if (n == 0) {
        free(list);
        return ie_error_set(IE_ERR_IO, "%s is a folder without a DICOM series (no file in it is DICOM with a "
                            "SeriesInstanceUID); give a folder of DICOM slices", dir);
    }
    for (int i = 0; i < n; i++)
        if (sel[0] ? matches(&list[i], sel) : true) {
            found = i;
            count++;
        }
    if (count == 1) {
        snprintf(uid, IE_DICOM_UID_MAX, "%s", list[found].uid);
        free(list);
        return IE_OK;
    }
    char text[3000];
    list_series(list, n, text, sizeof text);
    free(list);
    if (!sel[0])
        return ie_error_set(IE_ERR_UNSUPPORTED, "%s holds %d DICOM series:%s\nInnerEye reads one series per folder: "
                            "choose one with data.dicom_series (--series on the command line), uid=..., modality=... "
                            "or description=..., or move each series into a folder of its own", dir, n, text);
    return ie_error_set(IE_ERR_UNSUPPORTED, "%s: %s series match data.dicom_series \"%s\"; the folder holds:%s\n"
                        "give a selector that matches exactly one (uid=... always does)", dir,
                        count ? "several" : "no", sel, text);
}
