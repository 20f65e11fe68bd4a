/** POST /predict: one image in (multipart or image/* body), the digit and its probabilities out, with the visitor's token. */

import { identify, newVisitorId, signVisitorToken } from '#auth/tokens';
import { PredictionReceipt } from '#contract';
import { storedClientIp } from '#http/client-ip';
import { answer, bodyBytes, header, httpHandler } from '#http/handler';
import { predictDigit } from '#predict/predict';
import { getAccessKeys, getConfig, getServingModel, getShadowModel, getStore, getUploadsBucket, warmUp } from '#runtime';
import { countPictureRefusal } from '#stats/service';
import { readUpload, UploadQuota } from '#uploads/upload';

warmUp(getServingModel, getStore, async () => getUploadsBucket(), getAccessKeys, getShadowModel);

/** This container's count of uploads per address and per visitor (layers/uploads/upload.ts). */
let quota: UploadQuota | undefined;

export const handler = httpHandler('predict', async (event, info) => {
  const { maxUploadBytes, maxPixels, clientIpStorage } = getConfig();
  // Credentials first: a token that does not verify is refused before the body is read. One HMAC, no store read.
  const keys = await getAccessKeys();
  const caller = identify(header(event, 'authorization'), keys);
  const visitorId = caller.kind === 'visitor' ? caller.visitorId : newVisitorId();
  const sourceIp = event.requestContext?.http?.sourceIp ?? 'unknown';
  const body = bodyBytes(event);
  // The operator's own uploads are not counted; everyone else's before the upload is read.
  if (caller.kind !== 'operator') {
    quota ??= new UploadQuota(getConfig().uploadQuotas);
    quota.admit(sourceIp, caller.kind === 'visitor' ? visitorId : undefined, body.length);
  }
  const prediction = await (async () => {
    const upload = await readUpload(body, header(event, 'content-type'), { maxFileBytes: maxUploadBytes }, header(event, 'x-filename'));
    const [model, store, shadow] = await Promise.all([getServingModel(), getStore(), getShadowModel()]);
    return predictDigit(
      { model, store, uploads: getUploadsBucket(), maxPixels, shadow },
      upload,
      storedClientIp(sourceIp, clientIpStorage),
      info.timings,
      visitorId,
    );
  })().catch(async (error: unknown) => {
    // A picture refused (no digit, not an image, too large...) is counted in the statistics, then answered.
    await countPictureRefusal(error, getStore, async () => (await getServingModel()).version);
    throw error;
  });
  info.logFields.digit = prediction.digit;
  info.logFields.predictionId = prediction.id;
  info.prediction = { digit: prediction.digit, modelVersion: prediction.modelVersion };
  return answer(200, PredictionReceipt, { ...prediction, visitorToken: signVisitorToken(visitorId, keys) });
});
