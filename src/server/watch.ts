import { type FSWatcher, type Stats, statSync, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Watches one config file. Editors save by rename (write temp, rename over), which kills a watch on
 * the file itself, so the directory is watched and events are debounced.
 *
 * An event naming the file triggers a reload. Any other event in the directory triggers one only
 * if the file, followed through symlinks, is now a different file or has changed: that is how a
 * Kubernetes ConfigMap volume updates (`gateway.yaml -> ..data/gateway.yaml`, and `..data` is a
 * symlink swapped atomically), where no event ever names `gateway.yaml`.
 */
export function watchFile(file: string, onChange: () => void, debounceMs = 50): () => void {
  const abs = resolve(file);
  const name = basename(abs);
  let last = identity(abs);
  let timer: NodeJS.Timeout | undefined;
  let named = false;
  let watcher: FSWatcher | undefined;
  const fire = () => {
    timer = undefined;
    const now = identity(abs);
    const changed = now !== last;
    last = now;
    const wasNamed = named;
    named = false;
    if (wasNamed || changed) onChange();
  };
  try {
    watcher = watch(dirname(abs), { persistent: false }, (_event, changed) => {
      // null: the platform could not say which entry changed; treat it like a named event.
      if (changed === null || changed === name) named = true;
      if (timer) clearTimeout(timer);
      timer = setTimeout(fire, debounceMs);
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

/** What the path resolves to now: device, inode, size and mtime of the target ('' when missing). */
function identity(path: string): string {
  let s: Stats;
  try {
    s = statSync(path);
  } catch {
    return '';
  }
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
}
