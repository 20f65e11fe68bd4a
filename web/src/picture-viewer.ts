/**
 * The picture sent, shown over the page in a modal dialog when a history entry's "Show picture" is pressed. The
 * uploads bucket serves a kept picture as an attachment (nosniff, a sandbox CSP: it must never render as a page),
 * so a link to it downloads a file named by its hash; an img shows it whatever its Content-Disposition says. The
 * dialog owns the focus while open (native showModal: Escape closes it) and gives it back to the button that
 * opened it. Only http(s) URLs go into the img; when it cannot load (the link expired, or a CSP that does not
 * admit the bucket's origin), the dialog says so and offers the link.
 */

export interface ViewerElements {
  dialog: HTMLDialogElement;
  title: HTMLElement;
  image: HTMLImageElement;
  fallback: HTMLElement;
  link: HTMLAnchorElement;
  close: HTMLButtonElement;
}

export class PictureViewer {
  private opener: HTMLElement | undefined;

  constructor(private readonly ui: ViewerElements) {
    ui.close.addEventListener('click', () => ui.dialog.close());
    // A click on the backdrop (the dialog element itself, outside its content) closes it too.
    ui.dialog.addEventListener('click', (event) => {
      if (event.target === ui.dialog) ui.dialog.close();
    });
    ui.dialog.addEventListener('close', () => {
      ui.image.removeAttribute('src');
      this.opener?.focus();
      this.opener = undefined;
    });
    ui.image.addEventListener('error', () => {
      if (!ui.image.getAttribute('src')) return;
      ui.image.hidden = true;
      ui.fallback.hidden = false;
    });
  }

  open(url: string, filename: string, opener: HTMLElement): void {
    const { ui } = this;
    if (!/^https?:\/\//.test(url)) return;
    this.opener = opener;
    ui.title.textContent = filename;
    ui.image.alt = `The picture sent: ${filename}`;
    ui.image.hidden = false;
    ui.fallback.hidden = true;
    ui.link.href = url;
    ui.image.src = url;
    ui.dialog.showModal();
    ui.close.focus();
  }
}
