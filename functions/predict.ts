/** POST /predict: one image in (multipart or image/* body), the digit and its probabilities out. */
import { bodyBytes, header, httpHandler, json } from '../layers/http';
import { predictDigit } from '../layers/predict-service';
import { getClassifier, getConfig, getStore, getUploadsBucket, warmUp } from '../layers/runtime';
import { readUpload } from '../layers/upload';

warmUp(getClassifier, getStore, async () => getUploadsBucket());

export const handler = httpHandler('predict', async (event, info) => {
  const upload = await readUpload(
    bodyBytes(event),
    header(event, 'content-type'),
    { maxFileBytes: getConfig().maxUploadBytes },
    header(event, 'x-filename'),
  );
  const [classifier, store] = await Promise.all([getClassifier(), getStore()]);
  const answer = await predictDigit(
    { classifier, store, uploads: getUploadsBucket() },
    upload,
    event.requestContext?.http?.sourceIp ?? 'unknown',
  );
  info.logFields.digit = answer.digit;
  info.logFields.predictionId = answer.id;
  return json(200, answer);
});
