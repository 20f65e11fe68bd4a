/** GET /health: the model version, the inference backend, and whether the store answers. */
import { HealthAnswer } from '#contract';
import { answer, httpHandler } from '#http/handler';
import { getClassifier, getConfig, getStore, warmUp } from '#runtime';

warmUp(getClassifier, getStore);

export const handler = httpHandler('health', async () => {
  const classifier = await getClassifier();
  const storeOk = await getStore().then(
    (store) => store.ping(),
    () => false,
  );
  const body: HealthAnswer = {
    status: storeOk ? 'ok' : 'degraded',
    modelVersion: classifier.version,
    backend: classifier.backend,
    store: { kind: getConfig().store, ok: storeOk },
  };
  return answer(storeOk ? 200 : 503, HealthAnswer, body, storeOk ? {} : { 'Retry-After': '5' });
});
