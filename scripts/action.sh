#!/usr/bin/env bash
# The script of the composite GitHub Action (action.yml): `install` puts pgtap-scan on the
# PATH, `run` scans and writes what GitHub reads. Kept in a file so that a test runs it
# (tests/it/packaging.rs); the action only passes its inputs as INPUT_* variables.
#
# run reads:
#   PGTAP_SCAN          the binary (default: pgtap-scan on the PATH)
#   INPUT_PATHS         test folders or files, space-separated (default: .)
#   INPUT_SCHEMA        migrations folder (the universe); empty: none
#   INPUT_ARGS          more flags for every run (--fail-under 80 --coverage any ...)
#   INPUT_SINCE         annotate only files changed since this ref (--since)
#   INPUT_SUMMARY       true: append the markdown report to $GITHUB_STEP_SUMMARY
#   INPUT_SARIF         true: write SARIF to INPUT_SARIF_FILE (default pgtap-scan.sarif)
# and exits with the annotation run's code: 0, 1 (a gate failed), 2 (an error).
set -euo pipefail

install() {
  if command -v pgtap-scan >/dev/null 2>&1; then
    echo "pgtap-scan already installed: $(pgtap-scan --version)"
    return
  fi
  local src="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
  local version=()
  if [ -n "${INPUT_VERSION:-}" ]; then version=(--version "$INPUT_VERSION"); fi
  if command -v cargo-binstall >/dev/null 2>&1 && [ ${#version[@]} -gt 0 ]; then
    cargo binstall -y --locked pgtap-scan "${version[@]}"
  else
    # From the action's own checkout: the version the workflow pinned with @ref.
    cargo install --locked --path "$src"
  fi
}

run() {
  local bin="${PGTAP_SCAN:-pgtap-scan}"
  local paths=() extra=() common=()
  read -r -a paths <<<"${INPUT_PATHS:-.}"
  read -r -a extra <<<"${INPUT_ARGS:-}"
  common=("${paths[@]}")
  if [ -n "${INPUT_SCHEMA:-}" ]; then common+=(--schema "$INPUT_SCHEMA"); fi
  common+=("${extra[@]}")
  local work
  work="$(mktemp -d "${RUNNER_TEMP:-/tmp}/pgtap-scan.XXXXXX")"
  trap 'rm -rf "$work"' RETURN
  # Later runs read what the first parsed.
  common+=(--cache "$work/cache")

  # Annotations on stdout, where the runner reads workflow commands; its code is ours.
  local since=()
  if [ -n "${INPUT_SINCE:-}" ]; then since=(--since "$INPUT_SINCE"); fi
  local status=0
  "$bin" "${common[@]}" --format github "${since[@]}" || status=$?
  if [ "$status" -ge 2 ]; then
    return "$status"
  fi

  # The summary: 1 MiB a step, so --max-bytes keeps under it with room to spare.
  if [ "${INPUT_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    local code=0
    "$bin" "${common[@]}" --format markdown --max-bytes 1000000 -q -o "$work/summary.md" || code=$?
    if [ "$code" -ge 2 ]; then return "$code"; fi
    cat "$work/summary.md" >>"$GITHUB_STEP_SUMMARY"
  fi

  if [ "${INPUT_SARIF:-false}" = true ]; then
    local file="${INPUT_SARIF_FILE:-pgtap-scan.sarif}" code=0
    "$bin" "${common[@]}" --format sarif -q -o "$file" || code=$?
    if [ "$code" -ge 2 ]; then return "$code"; fi
    if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "sarif-file=$file" >>"$GITHUB_OUTPUT"; fi
  fi
  return "$status"
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  *)
    echo "usage: $0 install|run" >&2
    exit 2
    ;;
esac
