/**
 * The project's root directory, for tests, bench and scripts that spawn tools, read the model or write
 * results. scripts/bundle.ts keeps its own: the image build copies that one file without tools/ (Dockerfile).
 */
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
