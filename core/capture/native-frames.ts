/**
 * The capture addon (native/src/capture.cc, built with the probe's by scripts/build-native.sh):
 * checks a whole run of frames at one call, with a CRC that folds 16 bytes a step (~18 ns a
 * demo-capture frame, against ~100 for the tables of crc32.ts). Optional: where it is not built
 * or does not load, capture files are read by scanFrames' JavaScript checks alone.
 */
import * as path from 'node:path';
import { projectRoot } from '../project-root';

export interface CaptureAddon {
  /**
   * Where the run of good frames that starts at `from` ends, after at most `maxFrames` of them
   * (`from` when the first is not good): a good frame has the frame mark, a length within
   * MAX_RECORD_SIZE, all its record bytes within `bytes`, and its CRC. Why a frame is not good
   * is scanFrames' to tell.
   */
  goodFramesEnd(bytes: Uint8Array, from: number, maxFrames: number): number;
  /** The CRC-32 goodFramesEnd takes (for the test that checks it against crc32.ts). */
  crc32(bytes: Uint8Array): number;
}

let addon: CaptureAddon | undefined | null = null;

/** The capture addon, loaded at the first ask; undefined where it is not built or does not load. */
export function captureAddon(): CaptureAddon | undefined {
  if (addon === null) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(path.join(projectRoot(), 'native/build/Release/espan_capture.node')) as CaptureAddon;
    } catch {
      addon = undefined;
    }
  }
  return addon;
}
