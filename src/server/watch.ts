import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Watches one config file. Editors save by rename (write temp, rename over), which kills a watch on
 * the file itself, so the directory is watched and events are filtered by name and debounced.
 */
export function watchFile(file: string, onChange: () => void, debounceMs = 50): () => void {
  const abs = resolve(file);
  const name = basename(abs);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(abs), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.on('error', () => undefined);
  } catch {
    // Watching is best effort (some filesystems lack inotify); SIGHUP still reloads.
  }
  return () => {
    if (timer) clearTimeout(timer);
    watcher?.close();
  };
}
