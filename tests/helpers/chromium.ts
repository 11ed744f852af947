// Debian's Chromium (apt-get install chromium) driven by playwright-core: no
// browser download. The flags keep it from reaching for Google's services,
// which this machine's closed network refuses (and which slow every start).
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}
