#!/usr/bin/env python3
"""make_tables.py — regenerates the tables of BENCHMARKS.md from bench/results/*.json, so that no number is typed by hand.

  python3 bench/make_tables.py            rewrite the generated blocks of BENCHMARKS.md
  python3 bench/make_tables.py --check    exit 1 when BENCHMARKS.md is not what the JSON gives
  python3 bench/make_tables.py --print F  print the tables of one result file (run_cpu.sh does)

Generated blocks sit between '<!-- BEGIN GENERATED: name -->' and '<!-- END GENERATED: name -->'
(names: quality, auto, auto_cost, wide_wing, auto_window, cpu, channels, mpi, gpu); everything else in BENCHMARKS.md is left as written.
"""
import argparse
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
DOC = os.path.join(ROOT, "BENCHMARKS.md")

TARGET_N, TARGET_THREADS, TARGET_SPEEDUP, TARGET_FLOOR_RATIO = 512, 2, 4.0, 1.5


def ms(s):
    return "—" if s is None else f"{1e3 * s:.3g}"


def sec(s):
    return "—" if s is None else f"{s:.3g}"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine_line(d, rel):
    m = d["machine"]
    s = (f"Source: `{rel}` — {m.get('cpu_model') or '?'}, {m.get('cores')} cores, "
         f"host `{m.get('hostname')}`, {d.get('date_utc', '?')}")
    if "load_average_before" in m:
        s += f"; load average before/after: {m['load_average_before']} / {m['load_average_after']}"
    s += f".  \nCommand: `{d['command']}`"
    return s


def quality_block(d, rel):
    commit = d.get("git_commit", "")[:12] + (" (dirty)" if d.get("git_dirty") else "")
    o = d["estimate_options"]
    earlier = "".join(f"  \nRows kept from an earlier run: `{e['command']}` (commit {str(e.get('git_commit'))[:12]}, "
                      f"{e.get('date_utc')})" for e in d.get("earlier_commands", []))
    lines = [machine_line(d, rel) + earlier + f"  \nkernest {d['kernest_version']}, commit {commit}; seed {d['seed']}; "
             f"estimate --tol {o['tol']:g} --maxiter {o['maxiter']} unless the prior's arguments say "
             f"otherwise; {d['selection']}.", ""]
    targets = []
    for c in d["cases"]:
        lines += [f"**{c['name']}** — `{c['synth_command']}` (σ = {c['sigma']:.4g}; the true kernel scores "
                  f"{c['true_kernel_rmse_over_sigma_test']:.3f} on the test pair: the limit)", ""]
        lines.append(table(
            ["prior", "arguments", "best λ", "held-out RMSE/σ (test)", "RMSE/σ (validation)", "‖K̂−K‖/‖K‖",
             "central half", "solver", "iterations", "stop"],
            [[r["prior"], f"`{r['arguments']}`", "—" if r["lambda"] is None else f"{r['lambda']:g}",
              f"{r['rmse_over_sigma_test']:.4f}", f"{r['rmse_over_sigma_validation']:.4f}",
              f"{r['kernel_rel_error']:.4f}", f"{r['kernel_rel_error_central']:.4f}", r["solver"],
              f"{r['iterations']}" + (f" × {r['als_sweeps']} ALS sweeps ({r['als_stop_reason']})"
                                      if "als_sweeps" in r else ""), r["stop_reason"]]
             for r in c["best"].values()]))
        lines.append("")
        targets += [f"- {t['text']}: {t['prior']} {t['rmse_over_sigma_test']:.4f} — "
                    f"{'met' if t['met'] else 'not met'}" for t in c["targets"]]
    if targets:
        lines += ["Targets (issue 4):", ""] + targets + [""]
    lines += ["<details><summary>Every (prior, λ) run</summary>", ""]
    lines.append(table(
        ["case", "prior", "λ", "held-out RMSE/σ (test)", "RMSE/σ (validation)", "‖K̂−K‖/‖K‖", "central half",
         "fit RMS", "iterations", "stop"],
        [[c["name"], r["prior"], "—" if r["lambda"] is None else f"{r['lambda']:g}",
          f"{r['rmse_over_sigma_test']:.4f}", f"{r['rmse_over_sigma_validation']:.4f}",
          f"{r['kernel_rel_error']:.4f}", f"{r['kernel_rel_error_central']:.4f}", f"{r['fit_rms']:.3g}",
          r["iterations"], r["stop_reason"]] for c in d["cases"] for r in c["rows"]]))
    lines += ["", "</details>"]
    return "\n".join(lines)


def cpu_block(d, rel):
    v = d["versions"]
    lines = [machine_line(d, rel) + f"  \nkernest {v.get('kernest')}, {v.get('fftw')}, "
             f"numpy {v.get('numpy')}, scipy {v.get('scipy')}, {v.get('compiler')}, "
             f"commit {v.get('git_commit', '')[:12]}{' (dirty)' if v.get('git_dirty') else ''}.", ""]
    scipy = {r["N"]: r for r in d["scipy"]}
    rows, targets = [], []
    for k in d["kernest"]:
        s = scipy.get(k["N"])
        speed = s["iter_s"] / k["iter_s"] if s and k["iter_s"] > 0 else None
        tol_speed = (s["time_to_tol_s"] / k["time_to_tol_wall_s"]
                     if s and "time_to_tol_s" in s and k["time_to_tol_wall_s"] > 0 else None)
        rows.append([k["N"], f"{k['grid'][0]}×{k['grid'][1]}", k["threads"], k["precision"],
                     ms(k["iter_s"]), ms(k["floor_iter_s"]), f"{k['ratio_iter_over_floor']:.2f}",
                     ms(s["iter_s"]) if s else "—", f"{speed:.1f}×" if speed else "—",
                     f"{k['iterations_to_tol']} ({k['stop_reason']})", sec(k["time_to_tol_wall_s"]),
                     sec(s.get("time_to_tol_s")) if s else "—",
                     f"{s['relative_normal_residual']:.2g}" if s and "relative_normal_residual" in s else "—",
                     f"{tol_speed:.1f}×" if tol_speed else "—"])
        if k["N"] == TARGET_N and k["precision"] == "double":
            where = f"N = {k['N']}, {k['threads']} threads, double"
            if k["threads"] != TARGET_THREADS:
                where += f" (the target is stated for {TARGET_THREADS} cores)"
            if speed:
                targets.append(f"- per iteration vs SciPy, {where}: {speed:.1f}× "
                               f"(target ≥ {TARGET_SPEEDUP:g}×: "
                               f"{'met' if speed >= TARGET_SPEEDUP else 'not met'})")
            r = k["ratio_iter_over_floor"]
            targets.append(f"- per iteration vs the FFTW floor, {where}: {r:.2f}× "
                           f"(target ≤ {TARGET_FLOOR_RATIO:g}×: "
                           f"{'met' if r <= TARGET_FLOOR_RATIO else 'not met'})")
    lines.append(table(
        ["N", "FFT grid", "threads", "precision", "kernest ms/iter", "FFTW floor ms/iter",
         "kernest / floor", "SciPy ms/iter", "speed-up", "iterations to 1e-6", "kernest to tol, whole call (s)",
         "SciPy same iterations (s)", "SciPy ‖Aᵀr‖/‖Aᵀb‖ reached", "speed-up to tol"], rows))
    if targets:
        lines += ["", "Targets:", ""] + targets
    return "\n".join(lines)


def auto_block(d, rel):
    commit = d.get("git_commit", "")[:12] + (" (dirty)" if d.get("git_dirty") else "")
    lines = [machine_line(d, rel) + f"  \ncommit {commit}; N = {d['n']}, kernel {2 * d['n'] - 1}×{2 * d['n'] - 1}, "
             f"seed {d['seed']}, one fit pair; {d['selection']}. The automatic estimate is "
             f"`kernest estimate A.npy B.npy -o K.npy` (no options: --model auto --lambda auto, cv:5).", ""]
    rows = []
    for r in d["rows"]:
        a, b = r["auto"], r["best_scan"]
        ratio = r["ratio_auto_over_best"]
        rows.append([r["case"], f"`{r['kernel']}`", r["noise"], a["chosen"], f"{a['lambda']:.3g}",
                     f"{a['rmse_over_sigma_test']:.4f}", b["candidate"], f"{b['lambda']:.3g}",
                     f"{b['rmse_over_sigma_test']:.4f}", f"{ratio:.3f}", "yes" if ratio <= 1.10 else "**no**",
                     f"{a['solves']} ({a['iterations']} it" + (f", {a['seconds']:.1f} s)" if "seconds" in a else ")"),
                     f"{r['true_kernel_rmse_over_sigma_test']:.3f}"])
    lines.append(table(["case", "kernel", "noise", "auto: chosen", "λ", "RMSE/σ (test)", "scan best",
                        "λ", "RMSE/σ (test)", "auto / best", "within 10 %", "auto cost: solves",
                        "true K"], rows))
    if d.get("scanned") and all("best_per_candidate" in r for r in d["rows"]):
        cands = d["scanned"]
        table_set = set(d.get("auto_table", []))
        lines += ["", "Each scanned candidate at its best λ (by the validation pair), RMSE/σ on the test "
                  "pair; * = not in the automatic choice's table:", ""]
        lines.append(table(["case"] + [c + ("" if c in table_set else " *") for c in cands],
                           [[r["case"]] + [f"{r['best_per_candidate'][c]['rmse_over_sigma_test']:.3f} "
                                           f"(λ {r['best_per_candidate'][c]['lambda']:.3g})" for c in cands]
                            for r in d["rows"]]))
    return "\n".join(lines)


def auto_cost_block(d, rel):
    commit = d.get("git_commit", "")[:12] + (" (dirty)" if d.get("git_dirty") else "")
    lines = [machine_line(d, rel) + f"  \ncommit {commit}; problem `{d['problem']}` (binary A, 1/r kernel of "
             "(2N−1)², σ = 1), the default `kernest estimate A.npy B.npy -o K.npy`; applications = calls of H or "
             "Hᵀ (on a window's grid when the choice ran on one; full-grid: the select phase's counted at the window's grid area over the full one); plain = the chosen options solved once from "
             "zero to the default tolerance (its applications taken as 2 × iterations).", ""]
    rows = []
    for r in d["rows"]:
        ph = r.get("phases") or {}
        p = r.get("plain") or {}
        mem = (f"{r['peak_rss_kib'] / p['peak_rss_kib']:.2f}" if r.get("peak_rss_kib") and p.get("peak_rss_kib") else "—")
        rows.append([r["n"], sec(r["wall_seconds"]), gib(r["peak_rss_kib"] * 1024) if r.get("peak_rss_kib") else "—", mem,
                     r["chosen"], f"{r['lambda']:.3g}", r["rule"],
                     " / ".join(str(ph.get(k, {}).get("applications", "—")) for k in ("prepare", "select", "final")),
                     " / ".join(sec(ph.get(k, {}).get("seconds")) for k in ("prepare", "select", "final")),
                     f"{r['ratio_to_final_applications']:.3g}" if r.get("ratio_to_final_applications") else "—",
                     f"{r['ratio_to_plain_applications']:.3g}" if r.get("ratio_to_plain_applications") else "—",
                     f"{r['ratio_to_plain_full_grid_equivalent']:.3g}" if r.get("ratio_to_plain_full_grid_equivalent") else "—",
                     sec(r.get("ratio_to_plain_seconds")),
                     f"{r['rmse_over_sigma_test']:.4f}",
                     f"{p['iterations']} it, {sec(p['wall_seconds'])} s, {p['rmse_over_sigma_test']:.4f}" if p else "—"])
    lines.append(table(["N", "wall (s)", "peak RSS (GiB)", "peak ÷ plain's", "chosen", "λ", "rule",
                        "applications prepare / select / final", "seconds prepare / select / final",
                        "apps ÷ final", "apps ÷ plain", "full-grid apps ÷ plain", "wall ÷ plain", "RMSE/σ (test)", "plain solve of the choice"], rows))
    return "\n".join(lines)


def wide_wing_block(d, rel):
    commit = d.get("git_commit", "")[:12] + (" (dirty)" if d.get("git_dirty") else "")
    lines = [machine_line(d, rel) + f"  \ncommit {commit}; N = {d['n']} (a {2 * d['n'] - 1}² kernel), one fit pair; "
             f"{d['selection']}. The default is `kernest estimate A.npy B.npy -o K.npy`; the explicit priors "
             "run to convergence (--maxiter 5000).", ""]
    rows = []
    for r in d["rows"]:
        a, b = r["default"], r["best_explicit"]
        ratio = r["ratio_default_over_best"]
        rows.append([r["case"], f"`{r['kernel']}`", r["noise"], a["chosen"], f"{a['lambda']:.3g}",
                     f"{a['stop']} ({a['iterations']} it)", f"{a['rmse_over_sigma_test']:.4f}", sec(a["seconds"]),
                     b["candidate"], f"{b['lambda']:.3g}", f"{b['rmse_over_sigma_test']:.4f}", sec(b["seconds"]),
                     f"{ratio:.3f}", "yes" if ratio <= 1.10 else "**no**",
                     f"{r['true_kernel_rmse_over_sigma_test']:.3f}"])
    lines.append(table(["case", "kernel", "noise", "default: chosen", "λ", "final solve", "RMSE/σ (test)", "s",
                        "best explicit", "λ", "RMSE/σ (test)", "s", "default / best", "within 10 %", "true K"], rows))
    return "\n".join(lines)


def auto_window_block(d, rel):
    commit = d.get("git_commit", "")[:12] + (" (dirty)" if d.get("git_dirty") else "")
    base = d.get("baseline_commit") or "the baseline build"
    lines = [machine_line(d, rel) + f"  \nafter: commit {commit}; before: {base}. One fit pair, the default "
             f"`kernest estimate A.npy B.npy -o K.npy` (SIGTERM after {d['timeout_s']} s), held-out RMSE/σ on the "
             "test pair; full-grid = the select phase's applications at the window's grid size plus the others, "
             "over the final solve's; checks: finished = capped FISTA fits scored again, held = scored on the "
             "held windows; far field: subtracted from the window or left in (README, *White inputs*).", ""]
    rows = []
    for r in d["rows"]:
        def cell(x):
            if x is None:
                return ["—"] * 3
            s = f"{x['rmse_over_sigma_test']:.4f}" + (" (interrupted)" if x["interrupted"] else "")
            return [x["chosen"], s, sec(x["seconds"])]
        a, b = r.get("after"), r.get("before")
        fg = a.get("ratio_to_final_full_grid_equivalent")
        checks = "; ".join(([f"finished {', '.join(a['finished'])}"] if a["finished"] else []) +
                           ([f"held {', '.join(sorted(a['held']))}"] if a["held"] else [])) or "—"
        ff = a.get("far_field")
        far = "—" if not ff else ("subtracted" if ff["subtracted"] else "left in") + \
            f" ({ff.get('quick_model', 'pixel')}, {ff['quick_iterations']} it{'' if ff['quick_converged'] else ', capped'}; " + \
            f"{ff['box_spread']:.2g}" + \
            (f"; {ff['fluctuation']:.2g})" if "fluctuation" in ff else ")")
        rows.append([r["case"], f"`{r['kernel']}`", r["noise"], str(r["n"])] + cell(b) + cell(a) +
                    [f"{fg:.3g}" if fg else "—", checks, far, f"{r['true_kernel_rmse_over_sigma_test']:.3f}"])
    lines.append(table(["case", "kernel", "noise", "N", "before: chosen", "RMSE/σ (test)", "s", "after: chosen",
                        "RMSE/σ (test)", "s", "full-grid apps ÷ final", "checks",
                        "far field (quick solve: model, iterations; box spread; fluctuation)", "true K"], rows))
    return "\n".join(lines)


def gib(b):
    return "—" if b is None else f"{b / 2**30:.3g}"


def channels_block(d, rel):
    o = d["estimate_options"]
    commit = d.get("git_commit", "")[:12] + (" (dirty)" if d.get("git_dirty") else "")
    lines = [machine_line(d, rel) + f"  \nkernest {d.get('kernest_version')}, commit {commit}; device {o['device']}, "
             f"{o['precision']}, {o['threads']} thread{'s' if o['threads'] != 1 else ''}; `--fast --reg ridge --lambda {o['lambda']:g} --tol 0 "
             f"--maxiter {o['maxiter']}`, mode {o['mode']}; channel solve: median of {d['reps']} runs. "
             f"Baseline: {d['baseline']}", ""]
    rows = []
    for r in d["rows"]:
        samples = r.get("samples", 1)
        head = [f"{r['c_in']} → {r['c_out']}" + (f", {samples} samples" if samples > 1 else ""), r["n"],
                f"{r['k']}×{r['k']}" + (" (full)" if r.get("full") else ""),
                gib(r.get("bytes_needed"))]
        if "skipped" in r:
            rows.append(head + ["skipped: " + r["skipped"].replace("|", "\\|")] + [""] * 8)
            continue
        g = r["fft_grid"]
        sv = r.get("saving_per_iteration")
        rows.append(head + [
            f"{g[0]}×{g[1]}", ms(r["channel_per_iteration_s"]),
            ms(r["baseline_per_iteration_s"]) + (f" (from {r['single_runs_timed']} of {r['single_runs_needed']})"
                                                 if r.get("baseline_scaled") else ""),
            f"{sv:.2f}×" if sv else "—", sec(r["channel_setup_s"]), sec(r["baseline_setup_s"]),
            gib(r.get("channel_peak_rss_bytes")), gib(r.get("single_peak_rss_bytes")),
            r.get("warning", "")])
    lines.append(table(["C_in → C_out", "N", "kernel", "bytes_needed (GiB)", "FFT grid", "channels ms/iter",
                        "C_out×C_in single solves ms/iter", "saving", "channels set-up (s)",
                        "single solves set-up, sum (s)", "channels peak RSS (GiB)", "single peak RSS (GiB)",
                        "note"], rows))
    return "\n".join(lines)


def mpi_block(d, rel):
    pr = d["problem"]
    lines = [f"From `{rel}`: {d['machine']['uname']}, {d['machine']['cores']} cores; load average "
             f"{d['machine'].get('load_before', '?')} before, {d['machine'].get('load_after', '?')} after. "
             f"Command: `{d['command']}`.  \nProblem: N = {pr['n']}, {pr['pairs']} pairs, "
             f"{pr['kernel'][0]}×{pr['kernel'][1]} kernel, CGLS {pr['reg']} λ = {pr['lambda']:g}, "
             f"{pr['iterations']} iterations (tol 0), double, 1 thread per rank.", ""]
    rows = []
    for r in d["rows"]:
        rows.append([r["ranks"], ms(r["per_iteration_s"]), sec(r["solve_s"]), sec(r["comm_s"]), sec(r["stage_s"]),
                     f"{r['rel_diff_vs_one_process']:.1e}"])
    lines.append(table(["ranks", "ms / iteration", "solve (s)", "rank 0 in MPI calls (s)",
                        "rank 0 host staging (s)", "max rel. diff vs 1 process"], rows))
    return "\n".join(lines)


def gpu_block(d, rel):
    """The GPU table from the one JSON `scripts/gpu-check run` writes (gpu.json)."""
    m = d["machine"]
    k, t = d.get("kernest", {}), d.get("torch", {})
    lines = [f"Source: `{rel}` — {m.get('gpu') or '?'}, host `{m.get('hostname')}`, "
             f"{k.get('kernest_version', '?')}, PyTorch {t.get('torch_version', '—')}.  \n"
             f"Command: `{d['command']}`", ""]
    torch_cases = {(c["N"], c.get("precision")): c for c in t.get("cases", []) if "iter_s" in c}
    rows = []
    for c in k.get("cases", []):
        if "iter_s" not in c:
            rows.append([c["N"], c.get("precision", "—"), "—", "—", "—", "—", "—", "—", "—", "—", "—",
                         c.get("error") or c.get("skipped") or "—"])
            continue
        tc = torch_cases.get((c["N"], c["precision"]))
        rows.append([c["N"], c["precision"], f"{c['grid'][0]}×{c['grid'][1]}", ms(c["floor_iter_s"]),
                     ms(c["iter_s"]), f"{c['ratio_iter_over_floor']:.2f}", ms(tc["iter_s"]) if tc else "—",
                     f"{c['iterations_to_tol']} ({c['stop_reason']})", sec(c["time_to_tol_wall_s"]),
                     sec(tc["time_to_tol_s"]) if tc else "—",
                     f"{c['op_bytes'] / 2**30:.2f} / {c['setup_bytes_measured'] / 2**30:.2f}", ""])
    lines.append(table(["N", "precision", "FFT grid", "cuFFT floor ms/iter", "kernest ms/iter", "kernest / floor",
                        "PyTorch ms/iter", "kernest iterations to tol", "kernest to tol (s)",
                        "PyTorch to tol (s)", "op_bytes / measured (GiB)", "note"], rows))
    return "\n".join(lines)


def load(path):
    with open(path) as f:
        return json.load(f)


def rel(path):
    return os.path.relpath(path, ROOT)


def blocks():
    out = {}
    q = os.path.join(RESULTS, "quality.json")
    out["quality"] = (quality_block(load(q), rel(q)) if os.path.exists(q)
                      else "_No result yet: run `python3 bench/quality.py`._")
    a = os.path.join(RESULTS, "auto.json")
    out["auto"] = (auto_block(load(a), rel(a)) if os.path.exists(a)
                   else "_No result yet: run `python3 bench/auto.py`._")
    costs = sorted(glob.glob(os.path.join(RESULTS, "auto-cost-*.json")))
    out["auto_cost"] = ("\n\n".join(auto_cost_block(load(p), rel(p)) for p in costs) if costs
                        else "_No result yet: run `python3 bench/auto_cost.py`._")
    w = os.path.join(RESULTS, "wide-wing.json")
    out["wide_wing"] = (wide_wing_block(load(w), rel(w)) if os.path.exists(w)
                        else "_No result yet: run `python3 bench/wide_wing.py`._")
    aw = os.path.join(RESULTS, "auto-window.json")
    out["auto_window"] = (auto_window_block(load(aw), rel(aw)) if os.path.exists(aw)
                          else "_No result yet: run `python3 bench/auto_window.py`._")
    cpus = sorted(glob.glob(os.path.join(RESULTS, "cpu-*.json")))
    out["cpu"] = ("\n\n".join(cpu_block(load(p), rel(p)) for p in cpus) if cpus
                  else "_No result yet: run `bench/run_cpu.sh`._")
    chans = sorted(glob.glob(os.path.join(RESULTS, "channels-*.json")))
    out["channels"] = ("\n\n".join(channels_block(load(p), rel(p)) for p in chans) if chans
                       else "_No result yet: run `python3 bench/channels.py` (and `--gpu --label <host>-gpu`)._")
    mpis = sorted(glob.glob(os.path.join(RESULTS, "mpi-*.json")))
    out["mpi"] = ("\n\n".join(mpi_block(load(p), rel(p)) for p in mpis) if mpis
                  else "_No result yet: run `python3 bench/mpi_scaling.py`._")
    gpus = sorted(glob.glob(os.path.join(RESULTS, "gpu-*.json")))
    out["gpu"] = ("\n\n".join(gpu_block(load(p), rel(p)) for p in gpus) if gpus
                  else "_No result yet: no GPU has run `scripts/gpu-check run` (see the README's GPU section)._")
    return out


def render(text, gen):
    for name, body in gen.items():
        pat = re.compile(r"(<!-- BEGIN GENERATED: %s -->\n).*?(<!-- END GENERATED: %s -->)"
                         % (name, name), re.S)
        if not pat.search(text):
            sys.exit(f"make_tables.py: BENCHMARKS.md has no generated block '{name}'")
        text = pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail when BENCHMARKS.md is stale")
    ap.add_argument("--print", dest="show", metavar="FILE", help="print the tables of one result file")
    args = ap.parse_args()
    if args.show:
        d = load(args.show)
        blk = {"cpu": cpu_block, "auto": auto_block, "auto_cost": auto_cost_block, "channels": channels_block,
               "wide_wing": wide_wing_block, "auto_window": auto_window_block,
               "mpi_scaling": mpi_block, "gpu": gpu_block}.get(d.get("bench", d.get("benchmark")), quality_block)
        print(blk(d, rel(os.path.abspath(args.show))))
        return
    with open(DOC) as f:
        old = f.read()
    new = render(old, blocks())
    if args.check:
        if new != old:
            sys.exit("make_tables.py: BENCHMARKS.md is stale; run python3 bench/make_tables.py")
        return
    if new != old:
        with open(DOC + ".tmp", "w") as f:
            f.write(new)
        os.replace(DOC + ".tmp", DOC)
        print(f"updated {rel(DOC)}")


if __name__ == "__main__":
    main()
