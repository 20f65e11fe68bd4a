/**
 * The drawing pad: strokes drawn with a mouse, pen or finger (pointer events) on a white canvas, exported
 * as a PNG. It owns the canvas and whether anything is drawn; main.ts hands it the pointer events and
 * learns through onInkChange when there is something to send.
 */

interface Point {
  x: number;
  y: number;
}

export class DrawingPad {
  private readonly pen: CanvasRenderingContext2D | null;
  private inked = false;
  private pointer: number | undefined;
  private last: Point | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onInkChange: (hasInk: boolean) => void,
  ) {
    this.pen = canvas.getContext('2d');
  }

  get hasInk(): boolean {
    return this.inked;
  }

  clear(): void {
    if (this.pen) {
      this.pen.fillStyle = '#ffffff';
      this.pen.fillRect(0, 0, this.canvas.width, this.canvas.height);
    }
    this.setInk(false);
  }

  pointerDown(event: PointerEvent): void {
    if (this.pointer !== undefined || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();
    this.pointer = event.pointerId;
    this.canvas.setPointerCapture(event.pointerId);
    this.last = this.point(event);
    // A tap leaves a dot.
    this.stroke({ x: this.last.x + 0.1, y: this.last.y + 0.1 }, event.pressure);
  }

  pointerMove(event: PointerEvent): void {
    if (event.pointerId !== this.pointer) return;
    const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
    for (const each of events.length > 0 ? events : [event]) this.stroke(this.point(each), each.pressure);
  }

  pointerEnd(event: PointerEvent): void {
    if (event.pointerId !== this.pointer) return;
    this.pointer = undefined;
    this.last = undefined;
  }

  toPng(): Promise<Blob> {
    return new Promise((resolve, reject) => {
      this.canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the drawing could not be exported'))), 'image/png');
    });
  }

  private point(event: PointerEvent): Point {
    const box = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * this.canvas.width,
      y: ((event.clientY - box.top) / box.height) * this.canvas.height,
    };
  }

  private stroke(to: Point, pressure: number): void {
    const { pen, last } = this;
    if (!pen || !last) return;
    pen.strokeStyle = '#111111';
    pen.lineCap = 'round';
    pen.lineJoin = 'round';
    // About MNIST's stroke relative to the digit; a pen's pressure thickens it a little.
    pen.lineWidth = (this.canvas.width / 14) * (0.8 + 0.4 * (pressure || 0.5));
    pen.beginPath();
    pen.moveTo(last.x, last.y);
    pen.lineTo(to.x, to.y);
    pen.stroke();
    this.last = to;
    this.setInk(true);
  }

  private setInk(inked: boolean): void {
    if (this.inked === inked && inked) return;
    this.inked = inked;
    this.onInkChange(inked);
  }
}
