/** POST /predict: one image in (multipart or image/* body), the digit and its probabilities out. */
import { PredictionAnswer } from '../layers/contract';
import { answer, bodyBytes, header, httpHandler } from '../layers/http';
import { predictDigit } from '../layers/predict-service';
import { getClassifier, getConfig, getStore, getUploadsBucket, warmUp } from '../layers/runtime';
import { readUpload } from '../layers/upload';

warmUp(getClassifier, getStore, async () => getUploadsBucket());

export const handler = httpHandler('predict', async (event, info) => {
  const { maxUploadBytes, maxPixels } = getConfig();
  const upload = await readUpload(
    bodyBytes(event),
    header(event, 'content-type'),
    { maxFileBytes: maxUploadBytes },
    header(event, 'x-filename'),
  );
  const [classifier, store] = await Promise.all([getClassifier(), getStore()]);
  const prediction = await predictDigit(
    { classifier, store, uploads: getUploadsBucket(), maxPixels },
    upload,
    event.requestContext?.http?.sourceIp ?? 'unknown',
    info.timings,
  );
  info.logFields.digit = prediction.digit;
  info.logFields.predictionId = prediction.id;
  info.prediction = { digit: prediction.digit, modelVersion: prediction.modelVersion };
  return answer(200, PredictionAnswer, prediction);
});
