/* core/inference - the files of one subject (layout in infer.h): written
 * into a hidden partial folder and renamed into place, so a subject's folder
 * is either complete or absent, and never overwrites earlier results. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "core/util/file_util.h"
#include "core/inference/infer.h"
#include "core/tensor/tensor_impl.h"
#include "core/util/path.h"
#include "innereye/ops.h"

static bool is_empty_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
    closedir(d);
    return empty;
}

ie_status ie_infer_outputs_check(const char *out_dir, const char *subject) {
    if (!out_dir || !subject) return ie_error_set(IE_ERR_INVALID_ARG, "infer outputs: NULL argument");
    const char *why = ie_subject_name_problem(subject);
    if (why)
        return ie_error_set(IE_ERR_CONFIG, "subject '%.*s' cannot name an output folder: %s; rename the subject (one "
                            "file name of at most %d bytes: no '/', not '.' or '..', no control characters)",
                            IE_SUBJECT_NAME_MAX, subject, why, IE_SUBJECT_NAME_MAX);
    char path[4096];
    IE_TRY(ie_path_join(path, sizeof path, out_dir, subject));
    struct stat sb;
    if (stat(path, &sb) != 0) return IE_OK;
    if (S_ISDIR(sb.st_mode) && is_empty_dir(path)) return IE_OK;
    return ie_error_set(IE_ERR_IO, "%s already exists; inference never overwrites results: give another --out "
                        "folder, or move it away", path);
}

static void remove_partial(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4400];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                if (ie_path_join(path, sizeof path, dir, e->d_name) == IE_OK) unlink(path);
            }
        closedir(d);
    }
    rmdir(dir);
}

/* One class's posteriors as the tensor written: uint8 as InnerEye
 * (LinearTransform [0, 1] -> [0, 255] in float32, clipped, then a cast that
 * truncates), or float32. */
static ie_status posterior_volume(const ie_tensor *post, int64_t k, bool as_float, int ndim, const int64_t *shape,
                                  ie_tensor **out) {
    int64_t V = ie_tensor_numel(post) / ie_tensor_dim(post, 0);
    const float *p = ie_f32(post) + k * V;
    IE_TRY(ie_tensor_empty(as_float ? IE_F32 : IE_U8, ndim, shape, IE_CPU, out));
    if (as_float) {
        memcpy(ie_f32(*out), p, (size_t)V * sizeof(float));
        return IE_OK;
    }
    uint8_t *o = ie_tensor_data(*out);
    for (int64_t i = 0; i < V; i++) {
        float v = p[i] * 255.0f;
        o[i] = !(v > 0) ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
    }
    return IE_OK;
}

/* "posterior_<class>.nii.gz" with characters that cannot be in a file name
 * replaced by '_'. */
static void posterior_name(const char *cls, char *buf, size_t size) {
    int n = snprintf(buf, size, "posterior_%s.nii.gz", cls);
    for (int i = 10; i < n - 7 && (size_t)i < size; i++)
        if (buf[i] == '/' || buf[i] == '\\' || (unsigned char)buf[i] < 32) buf[i] = '_';
}

ie_status ie_infer_write(const char *out_dir, const ie_infer_settings *s, const ie_infer_subject *r) {
    if (!out_dir || !s || !r || !r->segmentation || !r->posteriors)
        return ie_error_set(IE_ERR_INVALID_ARG, "infer outputs: NULL argument or nothing to write");
    IE_TRY(ie_infer_outputs_check(out_dir, r->subject));
    /* The outputs take the input's grid, so the prediction must be on it. */
    int64_t shape[3], gshape[3] = {r->geometry.size[2], r->geometry.size[1], r->geometry.size[0]};
    for (int a = 0; a < 3; a++) shape[a] = ie_tensor_dim(r->segmentation, a);
    if (shape[0] != gshape[0] || shape[1] != gshape[1] || shape[2] != gshape[2])
        return ie_error_set(IE_ERR_SHAPE, "subject '%s': the prediction is %lldx%lldx%lld (D, H, W) but its first "
                            "image channel is %lldx%lldx%lld; outputs are written on the input's grid, so the model's "
                            "loader must not resample", r->subject, (long long)shape[0], (long long)shape[1],
                            (long long)shape[2], (long long)gshape[0], (long long)gshape[1], (long long)gshape[2]);
    int ndim = r->geometry.ndim == 2 ? 2 : 3;
    const int64_t *wshape = ndim == 2 ? shape + 1 : shape;
    IE_TRY(ie_make_dirs(out_dir));
    char partial[4200], final[4200], path[4800], name[512];
    IE_TRY(ie_path_format(partial, sizeof partial, "%s/.%s.partial.%ld", out_dir, r->subject, (long)getpid()));
    IE_TRY(ie_path_join(final, sizeof final, out_dir, r->subject));
    remove_partial(partial); /* left by a crashed process with our pid */
    if (mkdir(partial, 0755) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", partial, strerror(errno));
    ie_tensor *seg = NULL;
    ie_status st = ie_path_format(path, sizeof path, "%s/segmentation.nii.gz", partial);
    if (st == IE_OK) st = ie_reshape(r->segmentation, ndim, wshape, &seg);
    if (st == IE_OK) st = ie_image_write(path, seg, &r->geometry);
    ie_tensor_release(seg);
    if (st == IE_OK) st = ie_infer_write_dicom(partial, s, r);
    for (int k = 0; st == IE_OK && s->write_posteriors && k < s->n_classes; k++) {
        ie_tensor *p = NULL;
        posterior_name(s->class_names[k], name, sizeof name);
        st = ie_path_join(path, sizeof path, partial, name);
        if (st == IE_OK) st = posterior_volume(r->posteriors, k, s->posteriors_float, ndim, wshape, &p);
        if (st == IE_OK) st = ie_image_write(path, p, &r->geometry);
        ie_tensor_release(p);
    }
    if (st == IE_OK && rename(partial, final) != 0)
        st = errno == ENOTEMPTY || errno == EEXIST
                 ? ie_error_set(IE_ERR_IO, "%s already exists: it appeared while this subject was inferred (another "
                                "process writing into the same --out?); inference never overwrites results, so these "
                                "outputs were not kept: give another --out folder", final)
                 : ie_error_set(IE_ERR_IO, "%s: cannot move the finished outputs into place: %s (they were not kept)",
                                final, strerror(errno));
    if (st != IE_OK) {
        remove_partial(partial);
        return ie_error_wrap(st, "subject '%s': writing outputs into %s", r->subject, out_dir);
    }
    return IE_OK;
}
