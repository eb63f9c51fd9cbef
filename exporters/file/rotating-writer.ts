/**
 * Appends lines to a file and rotates it by size, as the Collector's file
 * exporter does with lumberjack: the full file is renamed to
 * `<name>-<timestamp><ext>`, a new one is opened, and backups beyond
 * max_backups or older than max_days are removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RotationOptions {
  /** 0 disables rotation */
  maxBytes: number;
  maxBackups: number;
  maxDays: number;
  localtime: boolean;
}

export class RotatingWriter {
  private fd: number;
  private size: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  rotations = 0;

  constructor(
    readonly file: string,
    private readonly rotation: RotationOptions,
    append: boolean,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, append ? 'a' : 'w');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Buffers a line; it reaches the file at the next flush. */
  append(line: Buffer): void {
    if (this.rotation.maxBytes > 0 && this.size + this.pendingBytes + line.length > this.rotation.maxBytes && this.size + this.pendingBytes > 0) {
      this.flush();
      this.rotate();
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
  }

  flush(): void {
    if (this.pendingBytes === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private backupName(): string {
    const d = new Date();
    const iso = this.rotation.localtime ? new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString() : d.toISOString();
    const stamp = iso.replace(/:/g, '-').replace('Z', '');
    const ext = path.extname(this.file);
    return path.join(path.dirname(this.file), `${path.basename(this.file, ext)}-${stamp}${ext}`);
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    let target = this.backupName();
    for (let i = 1; fs.existsSync(target); i++) target = this.backupName().replace(/(\.[^.]*)?$/, `.${i}$1`);
    fs.renameSync(this.file, target);
    this.fd = fs.openSync(this.file, 'w');
    this.size = 0;
    this.rotations++;
    this.prune();
  }

  /** The rotated files of this writer, oldest first. */
  backups(): string[] {
    const dir = path.dirname(this.file);
    const ext = path.extname(this.file);
    const prefix = `${path.basename(this.file, ext)}-`;
    return fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith(ext) && /\d{4}-\d\d-\d\dT/.test(f))
      .map((f) => path.join(dir, f))
      .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs || a.localeCompare(b));
  }

  private prune(): void {
    let files = this.backups();
    if (this.rotation.maxDays > 0) {
      const cutoff = Date.now() - this.rotation.maxDays * 86_400_000;
      for (const f of files) if (fs.statSync(f).mtimeMs < cutoff) fs.rmSync(f, { force: true });
      files = this.backups();
    }
    if (this.rotation.maxBackups > 0) {
      for (const f of files.slice(0, Math.max(0, files.length - this.rotation.maxBackups))) fs.rmSync(f, { force: true });
    }
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}
