/**
 * The one step between fine-tuning and judging: `npm run train -- --with-labels` calls `afterFineTune` on the
 * candidate's directory once its weights are written, before `npm run evaluate` compares it with the serving
 * model. Fine-tuning moves the convolutional features, so anything fitted on the serving model's features (the
 * not-a-digit head and the temperature of issue 13, from the notdigit branch) must be fitted again here, on
 * the candidate, and written beside its weights: evaluation then judges, and promotion copies, the whole
 * candidate directory.
 *
 * Nothing is fitted yet: the notdigit branch's fitting function is wired in here when it lands.
 */
export async function afterFineTune(_candidateDir: string): Promise<void> {
  // Deliberately empty until the notdigit branch lands (see above).
}
