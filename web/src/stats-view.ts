/**
 * The operator's statistics (GET /stats) drawn: predictions per day (stacked by model version, refused pictures
 * beside them), the confidence histogram, the accuracy of each model version on labelled predictions with its
 * 95% interval, and the confusion matrix of labelled predictions as a table (label down, digit read across).
 * Charts by Chart.js (chart-loader.ts), without animation so that what is drawn is final at once; the figures
 * also in words, for screen readers and for the record.
 */
import type { ApiClient } from './api-client.js';
import type { StatsAnswer } from './api-types.js';
import { type ChartConstructor, loadChart } from './chart-loader.js';
import { percent } from './format.js';
import { explain } from './messages.js';

export interface StatsElements {
  card: HTMLElement;
  form: HTMLFormElement;
  from: HTMLInputElement;
  to: HTMLInputElement;
  status: HTMLElement;
  summary: HTMLElement;
  perDay: HTMLCanvasElement;
  histogram: HTMLCanvasElement;
  accuracy: HTMLCanvasElement;
  confusion: HTMLTableElement;
}

const COLOURS = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2'];
const REFUSED = '#9ca3af';
const DAY_MS = 86_400_000;

/** Every day from..to (YYYY-MM-DD), oldest first. */
function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += DAY_MS) {
    days.push(new Date(ms).toISOString().slice(0, 10));
  }
  return days;
}

export class StatsView {
  private charts: Array<{ destroy(): void }> = [];
  private latest = 0;

  constructor(
    private readonly ui: StatsElements,
    private readonly api: ApiClient,
  ) {}

  /** Shows and loads the statistics (the operator view), or hides them. */
  async show(on: boolean): Promise<void> {
    this.ui.card.hidden = !on;
    if (on) await this.reload();
    else this.forget();
  }

  /** Nothing of the last figures stays for the next time the view opens (they would show while the new ones load). */
  private forget(): void {
    const { ui } = this;
    this.latest += 1;
    this.clear();
    ui.summary.textContent = '';
    ui.status.textContent = '';
    ui.confusion.replaceChildren();
    delete ui.card.dataset.drawn;
  }

  async reload(): Promise<void> {
    const { ui } = this;
    const request = ++this.latest;
    ui.status.textContent = 'Loading…';
    try {
      const [Chart, stats] = await Promise.all([loadChart(), this.api.stats({ from: ui.from.value, to: ui.to.value })]);
      if (request !== this.latest) return;
      ui.from.value = stats.from;
      ui.to.value = stats.to;
      this.draw(Chart, stats);
      ui.status.textContent = `${stats.from} to ${stats.to} (UTC).`;
      ui.card.dataset.drawn = String(request);
    } catch (error: unknown) {
      if (request !== this.latest) return;
      const { title, detail } = explain(error, this.api.apiUrl);
      ui.status.textContent = `Statistics unavailable. ${title} ${detail}`;
    }
  }

  private clear(): void {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
  }

  private draw(Chart: ChartConstructor, stats: StatsAnswer): void {
    const { ui } = this;
    this.clear();
    const { total } = stats;
    const refused = Object.values(total.refusals).reduce((a, b) => a + b, 0);
    ui.summary.textContent =
      `${total.predictions} predictions, ${refused} pictures refused` +
      (total.meanConfidence === null ? '' : `, ${percent(total.meanConfidence)} sure on average`) +
      (total.uncertainShare === null ? '' : `, ${percent(total.uncertainShare)} marked uncertain`) +
      `; ${total.labelled} labelled` +
      (total.accuracy
        ? `, ${percent(total.accuracy.estimate)} right (95%: ${percent(total.accuracy.low)} to ${percent(total.accuracy.high)}).`
        : '.');

    const days = daysBetween(stats.from, stats.to);
    const versions = stats.models.map((m) => m.modelVersion);
    const perDay = (pick: (row: StatsAnswer['days'][number]) => number, version?: string): number[] =>
      days.map((day) =>
        stats.days
          .filter((row) => row.day === day && (version === undefined || row.modelVersion === version))
          .reduce((n, row) => n + pick(row), 0),
      );
    const common = { animation: false as const, responsive: true, maintainAspectRatio: false };

    this.charts.push(
      new Chart(ui.perDay, {
        type: 'bar',
        data: {
          labels: days.map((d) => d.slice(5)),
          datasets: [
            ...versions.map((version, i) => ({
              label: `predictions, ${version}`,
              data: perDay((row) => row.predictions, version),
              backgroundColor: COLOURS[i % COLOURS.length] as string,
              stack: 'answered',
            })),
            {
              label: 'refused pictures',
              data: perDay((row) => Object.values(row.refusals).reduce((a, b) => a + b, 0)),
              backgroundColor: REFUSED,
              stack: 'refused',
            },
          ],
        },
        options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
      }),
      new Chart(ui.histogram, {
        type: 'bar',
        data: {
          labels: total.confidenceHistogram.map((_, i) => (i === 9 ? '0.9–1' : `${i / 10}–${(i + 1) / 10}`)),
          datasets: [{ label: 'predictions by confidence', data: total.confidenceHistogram, backgroundColor: COLOURS[0] as string }],
        },
        options: { ...common, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      }),
      // A floating bar per model (low to high) and a point at the estimate: one chart of two types.
      new Chart<'bar' | 'line', Array<[number, number] | number | null>, string>(ui.accuracy, {
        type: 'bar',
        data: {
          labels: stats.models.map((m) => `${m.modelVersion} (${m.labelled} labelled)`),
          datasets: [
            {
              type: 'bar',
              label: '95% interval',
              data: stats.models.map((m) => (m.accuracy ? ([m.accuracy.low, m.accuracy.high] as [number, number]) : null)),
              backgroundColor: 'rgba(37, 99, 235, 0.25)',
              borderColor: COLOURS[0] as string,
              borderWidth: 1,
            },
            {
              type: 'line',
              label: 'accuracy',
              data: stats.models.map((m) => m.accuracy?.estimate ?? null),
              showLine: false,
              pointRadius: 6,
              pointStyle: 'rectRot',
              backgroundColor: '#1e3a8a',
              borderColor: '#1e3a8a',
            },
          ],
        },
        options: {
          ...common,
          indexAxis: 'x',
          scales: { y: { min: 0, max: 1, ticks: { callback: (value) => percent(Number(value)) } } },
        },
      }),
    );
    this.drawConfusion(stats);
  }

  /** Rows: the label; columns: the digit read; each cell shaded by its share of its row. */
  private drawConfusion(stats: StatsAnswer): void {
    const table = this.ui.confusion;
    const head = document.createElement('tr');
    const corner = document.createElement('th');
    corner.scope = 'col';
    corner.textContent = 'label \\ read';
    head.append(corner);
    for (let read = 0; read <= 9; read += 1) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = String(read);
      head.append(th);
    }
    const rows = stats.total.confusion.map((row, label) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = String(label);
      tr.append(th);
      const sum = row.reduce((a, b) => a + b, 0);
      row.forEach((count, read) => {
        const td = document.createElement('td');
        td.textContent = count === 0 ? '' : String(count);
        td.dataset.label = String(label);
        td.dataset.read = String(read);
        td.dataset.count = String(count);
        if (count > 0) {
          const share = count / sum;
          // Set through the CSSOM, which the page's CSP allows (no inline style attribute in markup).
          td.style.backgroundColor =
            label === read ? `rgba(5, 150, 105, ${0.15 + 0.6 * share})` : `rgba(220, 38, 38, ${0.15 + 0.6 * share})`;
        }
        tr.append(td);
      });
      return tr;
    });
    const thead = document.createElement('thead');
    thead.append(head);
    const tbody = document.createElement('tbody');
    tbody.append(...rows);
    table.replaceChildren(thead, tbody);
  }
}
