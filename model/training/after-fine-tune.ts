/**
 * The one step between fine-tuning and judging: `npm run model:train -- --with-labels` calls `afterFineTune` on the
 * candidate's directory once its weights are written, before `npm run model:evaluate` compares it with the serving
 * model. Fine-tuning moves the convolutional features, so what was fitted on the serving model's features (the
 * not-a-digit head and the temperature, `refusal.json`) is fitted again here, on the candidate, and written
 * beside its weights: evaluation then judges, and promotion copies, the whole candidate directory. Without it a
 * promoted candidate would serve with no refusal at all (the service refuses a refusal.json fitted for other
 * weights, so the serving one cannot be carried over).
 */
import { fitRefusalAndTemperature, type RefusalFitOptions } from './refusal-fit';

/**
 * A shortened fit for a shortened fine-tune (`--max-batches`, `--mnist-limit`: tests and quick checks), so that
 * the step is exercised without its ten minutes; its file works but its figures mean little.
 */
const QUICK_FIT: Partial<RefusalFitOptions> = {
  mnistDigits: 400,
  peoplePictures: 40,
  nonDigits: 120,
  extraNonDigits: 120,
  heldOutNonDigits: 40,
  testHalf: 300,
  epochs: 3,
};

export async function afterFineTune(candidateDir: string, options: { quick: boolean }): Promise<void> {
  process.stderr.write(
    `fitting the refusal head and temperature on the candidate's own features${options.quick ? ' (shortened)' : ''}...\n`,
  );
  await fitRefusalAndTemperature(candidateDir, options.quick ? QUICK_FIT : {});
}
