/* tools - `innereye serve` for a classification or regression run or
 * ensemble (docs/deploy.md, "Classification and regression models").
 *
 * A request names the columns the run was trained on: multipart fields,
 * files for data.scalar.image_columns and values for the numerical and
 * categorical columns (or the whole body, when the model's only input is
 * one image column).  They become a one-row dataset CSV in the request's
 * folder that `innereye infer` predicts (ie_scalar_infer, the same code, so
 * the answer holds the numbers infer writes), and the answer is JSON:
 *
 *   {"predictions": [{"target": "sick", "prediction": 0.7312}, ...]}
 *
 * with each prediction the text of infer's predictions.csv. */
#ifndef IE_TOOLS_SERVE_SCALAR_H
#define IE_TOOLS_SERVE_SCALAR_H

#include "core/serve/serve.h"
#include "core/util/sha256.h"
#include "innereye/config.h"

#define IE_SERVE_SCALAR_MAX_COLUMNS 64

typedef struct ie_serve_scalar {
    char run[4200];  /* a run or ensemble folder */
    ie_config *cfg;  /* (member 0's) config.resolved.json: the columns */
    void *statistics; /* (member 0's) data_statistics.json as cJSON: target kind, outputs */
    int n_columns;   /* image columns first, then numerical, categorical */
    int n_images;
    const char *columns[IE_SERVE_SCALAR_MAX_COLUMNS];
    /* as ie_infer_session's: the weights file's, or the members' digests' */
    char weights_sha256[IE_SHA256_HEX_SIZE];
} ie_serve_scalar;

/* Reads the run's columns and weights' SHA-256; the model itself is opened
 * by each request (ie_scalar_infer reads its weights and statistics). */
ie_status ie_serve_scalar_open(const char *run, ie_serve_scalar *m);
void ie_serve_scalar_close(ie_serve_scalar *m);

/* GET /v1/model; malloc'd. */
char *ie_serve_scalar_model_json(const ie_serve_scalar *m, const char *source);

/* The app's answer (ie_serve_app.segment) for a request. */
void ie_serve_scalar_answer(void *ctx, const ie_serve_input *inputs, int n_inputs, ie_serve_format format,
                            const char *work_dir, ie_serve_reply *reply);

#endif
