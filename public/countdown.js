// The inspect page's countdown (views/console/inspect.pug). Without this
// script the page still says "in N min"; with it, the time left ticks.
// The server sends the seconds left rather than the expiry instant, so a
// wrong clock on the reader's machine cannot make it lie.
for (const el of document.querySelectorAll('[data-countdown]')) {
  const end = performance.now() + Number(el.getAttribute('data-countdown')) * 1000;
  const format = el.getAttribute('data-format') || '{time}';
  const expired = el.getAttribute('data-expired') || '';
  const days = el.getAttribute('data-days') || '{days} d';
  const two = (n) => String(n).padStart(2, '0');
  const tick = () => {
    const left = Math.max(0, Math.round((end - performance.now()) / 1000));
    if (left === 0) {
      el.textContent = expired;
      return;
    }
    const d = Math.floor(left / 86400);
    const h = Math.floor((left % 86400) / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = left % 60;
    const clock = d || h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
    el.textContent = format.replace('{time}', d ? `${days.replace('{days}', d)} ${clock}` : clock);
    setTimeout(tick, 250);
  };
  tick();
}
