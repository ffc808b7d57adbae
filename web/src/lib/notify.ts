import { signal } from '@preact/signals';

/** Off until the agent turns it on; remembered in this browser. */
export const notifyOn = signal(typeof localStorage !== 'undefined' && localStorage.getItem('pingback.notify') === 'on');

export async function setNotify(on: boolean): Promise<void> {
  if (on && typeof Notification !== 'undefined' && Notification.permission === 'default') await Notification.requestPermission();
  notifyOn.value = on;
  localStorage.setItem('pingback.notify', on ? 'on' : 'off');
}

let audio: AudioContext | undefined;
/** A short chime, made rather than loaded: nothing to fetch, nothing the page's policy must allow. */
function chime(): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.35);
  } catch {
    // No sound here; the notification still shows.
  }
}

/** A customer wrote while the tab is hidden: a sound and a notification, when the agent asked for them. */
export function notifyCustomerMessage(from: string, text: string, open: () => void): void {
  if (!notifyOn.value || typeof document === 'undefined' || !document.hidden) return;
  chime();
  if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
    const n = new Notification(from, { body: text.slice(0, 140), tag: 'pingback' });
    n.onclick = () => {
      window.focus();
      open();
      n.close();
    };
  }
}
