import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, type } from "node:os";

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's utime and stime. */
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process in milliseconds, or undefined when /proc is not readable (not Linux, gone). */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / clkTck();
  } catch {
    return undefined;
  }
}

/** Resident set size in MB, or undefined when not readable. */
export function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface Machine {
  cpu: string;
  cores: number;
  os: string;
  node: string;
  load_avg: number[] | undefined;
}

export function machine(): Machine {
  const list = cpus();
  let loadAvg: number[] | undefined;
  try {
    loadAvg = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {
    loadAvg = undefined;
  }
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    os: `${type()} ${release()}`,
    node: process.version,
    load_avg: loadAvg,
  };
}

/**
 * Samples the RSS of each named process every `everyMs` until stop(), which returns each one's peak in MB
 * (null when never readable). Sampling is from /proc, so it costs the sampled processes nothing.
 */
export function sampleRss<K extends string>(pids: Record<K, number | undefined>, everyMs = 250): { stop(): Record<K, number | null> } {
  const peak = {} as Record<K, number | null>;
  const keys = Object.keys(pids) as K[];
  const take = (): void => {
    for (const k of keys) {
      const mb = rssMb(pids[k]);
      if (mb !== undefined) peak[k] = Math.max(peak[k] ?? 0, mb);
      else peak[k] ??= null;
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
