/* tools - `innereye serve` for a classification or regression run or
 * ensemble (docs/deploy.md, "Classification and regression models").
 *
 * The run is opened once, when the server starts (ie_scalar_session: the
 * config, statistics and weights of every member are read then and never
 * again).  A request names the columns the run was trained on: multipart
 * fields, files for data.scalar.image_columns and values for the numerical
 * and categorical columns (or the whole body, when the model's only input
 * is one image column).  They become a one-row dataset, prepared with the
 * run's statistics and predicted by the code `innereye infer` uses, and the
 * answer is JSON:
 *
 *   {"predictions": [{"target": "sick", "prediction": 0.7312}, ...]}
 *
 * with each prediction the text infer writes into predictions.csv
 * (ie_prediction_text).  A request changes nothing of the opened run, so
 * the answer to the same fields is the same whatever came before. */
#ifndef IE_TOOLS_SERVE_SCALAR_H
#define IE_TOOLS_SERVE_SCALAR_H

#include "core/inference/classification_regression_infer.h"
#include "core/serve/serve.h"
#include "core/util/sha256.h"

#define IE_SERVE_SCALAR_MAX_COLUMNS 64

typedef struct ie_serve_scalar {
    ie_scalar_session session;
    int n_columns; /* image columns first, then numerical, categorical (the statistics' own) */
    int n_images;
    const char *columns[IE_SERVE_SCALAR_MAX_COLUMNS];
} ie_serve_scalar;

/* Opens the run or ensemble (every file read here). */
ie_status ie_serve_scalar_open(const char *run, ie_serve_scalar *m);
void ie_serve_scalar_close(ie_serve_scalar *m);

/* GET /v1/model; malloc'd. */
char *ie_serve_scalar_model_json(const ie_serve_scalar *m, const char *source);

/* The app's answer (ie_serve_app.segment) for a request. */
void ie_serve_scalar_answer(void *ctx, const ie_serve_input *inputs, int n_inputs, ie_serve_format format,
                            const char *work_dir, ie_serve_reply *reply);

#endif
