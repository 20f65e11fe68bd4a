/** The one pause of tests, bench and scripts: polling loops and paced load wait through it. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
