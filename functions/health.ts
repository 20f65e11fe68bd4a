/** GET /health: the serving model's version, the inference backend, and whether the store answers. */
import { HealthAnswer } from '#contract';
import { answer, httpHandler } from '#http/handler';
import { getConfig, getServingModel, getStore, warmUp } from '#runtime';

warmUp(getServingModel, getStore);

export const handler = httpHandler('health', async () => {
  const model = await getServingModel();
  const storeOk = await getStore().then(
    (store) => store.ping(),
    () => false,
  );
  const body: HealthAnswer = {
    status: storeOk ? 'ok' : 'degraded',
    modelVersion: model.version,
    backend: model.backend,
    store: { kind: getConfig().store, ok: storeOk },
  };
  return answer(storeOk ? 200 : 503, HealthAnswer, body, storeOk ? {} : { 'Retry-After': '5' });
});
