/* core/checkpoint - safetensors reader and writer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/checkpoint/safetensors.h"
#include "core/tensor/tensor_impl.h"
#include "core/util/file_util.h"

static const char *dtype_code(ie_dtype d) {
    switch (d) {
    case IE_F32: return "F32";
    case IE_I64: return "I64";
    case IE_I32: return "I32";
    case IE_U8: return "U8";
    }
    return "?";
}

static int dtype_from_code(const char *s, ie_dtype *out) {
    static const struct { const char *code; ie_dtype d; } map[] = {
        {"F32", IE_F32}, {"I64", IE_I64}, {"I32", IE_I32}, {"U8", IE_U8}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(s, map[i].code) == 0) {
            *out = map[i].d;
            return 1;
        }
    return 0;
}

ie_status ie_safetensors_read(const char *path, ie_params **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    ie_status st = IE_OK;
    char *header = NULL;
    unsigned char *body = NULL;
    cJSON *json = NULL;
    ie_params *params = NULL;
    unsigned char len_bytes[8];
    fseek(f, 0, SEEK_END);
    long file_size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (fread(len_bytes, 1, 8, f) != 8) {
        st = ie_error_set(IE_ERR_IO, "%s: too short to be a safetensors file", path);
        goto done;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len_bytes[i];
    if (n == 0 || n > (uint64_t)file_size - 8 || n > 100u << 20) {
        st = ie_error_set(IE_ERR_IO, "%s: header length %llu does not fit the file (%ld bytes); "
                                     "the file is truncated or not safetensors",
                          path, (unsigned long long)n, file_size);
        goto done;
    }
    size_t body_size = (size_t)file_size - 8 - (size_t)n;
    header = malloc(n + 1);
    body = malloc(body_size ? body_size : 1);
    if (!header || !body) {
        st = ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fread(header, 1, n, f) != n || fread(body, 1, body_size, f) != body_size) {
        st = ie_error_set(IE_ERR_IO, "%s: read failed", path);
        goto done;
    }
    header[n] = '\0';
    json = cJSON_Parse(header);
    if (!cJSON_IsObject(json)) {
        st = ie_error_set(IE_ERR_IO, "%s: header is not a JSON object", path);
        goto done;
    }
    st = ie_params_new(&params);
    if (st != IE_OK) goto done;
    for (cJSON *e = json->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        cJSON *dt = cJSON_GetObjectItem(e, "dtype"), *shape = cJSON_GetObjectItem(e, "shape"),
              *offs = cJSON_GetObjectItem(e, "data_offsets");
        ie_dtype dtype;
        if (!cJSON_IsString(dt) || !dtype_from_code(dt->valuestring, &dtype) || !cJSON_IsArray(shape) ||
            cJSON_GetArraySize(shape) > IE_MAX_DIMS || !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) {
            st = ie_error_set(IE_ERR_IO, "%s: entry '%s' has a missing or unsupported dtype/shape/offsets "
                                         "(supported dtypes: F32, I64, I32, U8; up to %d dimensions)",
                              path, e->string, IE_MAX_DIMS);
            goto done;
        }
        /* Sizes and offsets must be whole numbers in range (checked as
         * doubles: a huge or negative value must not reach an integer cast).
         * The dimensions' product, zeros counted as ones, is bounded too, so
         * that a tensor with no elements cannot claim strides that overflow. */
        int64_t dims[IE_MAX_DIMS];
        int ndim = cJSON_GetArraySize(shape);
        double numel = 1, extent = 1;
        int whole = 1;
        for (int i = 0; i < ndim; i++) {
            cJSON *d = cJSON_GetArrayItem(shape, i);
            whole = cJSON_IsNumber(d) && d->valuedouble >= 0 && d->valuedouble <= 0x1p40 &&
                    d->valuedouble == (double)(int64_t)d->valuedouble;
            if (!whole) break;
            dims[i] = (int64_t)d->valuedouble;
            numel *= (double)dims[i];
            extent *= dims[i] ? (double)dims[i] : 1.0;
            whole = extent <= 0x1p40;
            if (!whole) break;
        }
        cJSON *b = cJSON_GetArrayItem(offs, 0), *z = cJSON_GetArrayItem(offs, 1);
        for (int i = 0; whole && i < 2; i++) {
            cJSON *o = i ? z : b;
            whole = cJSON_IsNumber(o) && o->valuedouble >= 0 && o->valuedouble <= (double)body_size &&
                    o->valuedouble == (double)(int64_t)o->valuedouble;
        }
        if (!whole || z->valuedouble - b->valuedouble != numel * (double)ie_dtype_size(dtype)) {
            st = ie_error_set(IE_ERR_IO, "%s: entry '%s' shape or data offsets do not match each other or the "
                                         "file size (%zu bytes of data); the file is corrupt or truncated",
                              path, e->string, body_size);
            goto done;
        }
        if (ie_params_find(params, e->string)) {
            st = ie_error_set(IE_ERR_IO, "%s: entry '%s' appears twice; the file is corrupt", path, e->string);
            goto done;
        }
        ie_tensor *t;
        st = ie_tensor_from_data(dtype, ndim, dims, body + (size_t)b->valuedouble, &t);
        if (st == IE_OK) {
            st = ie_params_add(params, e->string, t, IE_BUFFER);
            ie_tensor_release(t);
        }
        if (st != IE_OK) {
            st = ie_error_wrap(st, "%s: entry '%s'", path, e->string);
            goto done;
        }
    }
done:
    fclose(f);
    free(header);
    free(body);
    cJSON_Delete(json);
    if (st != IE_OK) {
        ie_params_free(params);
        return st;
    }
    *out = params;
    return IE_OK;
}

static ie_status write_host(const char *path, const ie_params *params, ie_tensor *const *host);

/* CPU views of every tensor of params: the tensor itself (one more
 * reference) on the CPU, a host copy of one on a device (waiting for the
 * device's queued work: a checkpoint is one of the places a step syncs). */
static ie_status host_tensors(const char *path, const ie_params *params, ie_tensor ***out) {
    int count = ie_params_count(params);
    ie_tensor **host = calloc((size_t)(count > 0 ? count : 1), sizeof *host);
    if (!host) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < count; i++) {
        ie_status st = ie_tensor_to(ie_params_tensor(params, i), IE_CPU, &host[i]);
        if (st != IE_OK) {
            for (int k = 0; k < i; k++) ie_tensor_release(host[k]);
            free(host);
            return ie_error_wrap(st, "%s: tensor '%s'", path, ie_params_name(params, i));
        }
    }
    *out = host;
    return IE_OK;
}

static void host_tensors_free(ie_tensor **host, int count) {
    for (int i = 0; i < count; i++) ie_tensor_release(host[i]);
    free(host);
}

ie_status ie_safetensors_write(const char *path, const ie_params *params) {
    int count = ie_params_count(params);
    ie_tensor **host = NULL;
    IE_TRY(host_tensors(path, params, &host));
    ie_status st = write_host(path, params, host);
    host_tensors_free(host, count);
    return st;
}

/* ie_safetensors_write with host[i] the CPU view of params' tensor i. */
static ie_status write_host(const char *path, const ie_params *params, ie_tensor *const *host) {
    cJSON *json = cJSON_CreateObject();
    size_t offset = 0;
    int count = ie_params_count(params);
    for (int i = 0; i < count; i++) {
        ie_tensor *t = host[i];
        size_t nbytes = (size_t)t->numel * ie_dtype_size(t->dtype);
        cJSON *e = cJSON_AddObjectToObject(json, ie_params_name(params, i));
        cJSON_AddStringToObject(e, "dtype", dtype_code(t->dtype));
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(offset + nbytes)));
        offset += nbytes;
    }
    char *header = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (!header) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory building the header", path);
    size_t hlen = strlen(header);
    size_t padded = (hlen + 7) & ~(size_t)7; /* spec: pad the header with spaces to 8 bytes */

    size_t tmp_len = strlen(path) + 32;
    char *tmp = malloc(tmp_len);
    if (!tmp) {
        free(header);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    ie_status st = IE_OK;
    /* Written in pieces straight from the tensors (no copy of the whole file
     * in memory), so not with ie_write_file_atomic; the same checks. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        st = ie_error_set(IE_ERR_IO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto done;
    }
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; i++) len_bytes[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len_bytes, 1, 8, f) == 8 && fwrite(header, 1, hlen, f) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < count; i++) {
        ie_tensor *t = host[i];
        size_t nbytes = (size_t)t->numel * ie_dtype_size(t->dtype);
        ok = fwrite(ie_tensor_ptr(t), 1, nbytes, f) == nbytes;
    }
    ok = ok && fflush(f) == 0;
    int err = ok ? 0 : errno; /* the first failure's: fclose may change errno */
    if (ok && (err = ie_sync_fd(fileno(f))) != 0) ok = 0;
    if (fclose(f) != 0 && ok) ok = 0, err = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, err = errno;
    if (!ok) {
        st = ie_error_set(IE_ERR_IO, "%s: writing failed (%s); the previous file, if any, is unchanged: %s", path,
                          strerror(err ? err : EIO), err == ENOSPC ? "free some disk space" : "check the folder");
        unlink(tmp);
    }
done:
    free(tmp);
    free(header);
    return st;
}
