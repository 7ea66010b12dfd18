#!/usr/bin/env bash
# The counter app as a kiosk runs it, without hardware (docs/kiosk.md):
#   no-seat  weston's headless backend announces no input seat: the app exits 3 with a message
#            (SDL 2.26 crashed there with SIGSEGV).
#   wayland  weston's kiosk shell (pixman) on a virtual X server, the app on SDL's Wayland
#            driver, asked for a customer display on one screen: a screenshot OCR'd for the
#            sign-in screen (the customer window used to cover it), a sign-in by taps through
#            weston's seat, then the compositor is killed and the app must exit with status 4 (it
#            used to spin at full CPU).
#   x11      the app on Xvfb; the X server is killed and the app must exit non-zero.
#   cage     the kiosk's own compositor (cage, headless, as a non-root user as cage demands): the
#            app starts on SDL's Wayland driver and exits 4 when cage is killed. (No screenshot:
#            grim on cage's headless output captures black while the app is idle.)
#   unit     packaging/kiosk/loyalty-kiosk.service passes systemd-analyze verify and keeps its
#            contract (cage on tty1 as loyalty-terminal, restarted, Wayland).
# Usage: kiosk_test.sh MODE LOYALTY_TERMINAL SCREENSHOT_DIR. Exit 77 (skipped) without the tools.
set -euo pipefail

mode=$1
bin=$2
shots=$3

skip() {
  echo "KIOSK TEST SKIPPED: $1"
  exit 77
}
fail() {
  echo "FAIL ($mode): $1" >&2
  for f in "$tmp"/*.log; do
    [[ -s $f ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

needs=(weston)
case $mode in
  no-seat) ;;
  wayland) needs+=(Xvfb weston-screenshooter tesseract xdotool import) ;;
  x11) needs=(Xvfb) ;;
  cage) needs=(cage) ;;
  unit) needs=(systemd-analyze cage) ;;
  *) echo "usage: $0 no-seat|wayland|x11|cage|unit LOYALTY_TERMINAL SCREENSHOT_DIR" >&2; exit 2 ;;
esac
for p in "${needs[@]}"; do
  command -v "$p" >/dev/null 2>&1 || skip "$p is not installed (packaging/install-deps.sh)"
done
if [[ $mode == wayland ]] && ! tesseract --list-langs 2>/dev/null | grep -qx chi_sim; then
  skip "tesseract has no chi_sim data (tesseract-ocr-chi-sim)"
fi

# Under `make sanitize` Mesa and SDL keep allocations until exit that LeakSanitizer would call
# leaks and turn into the exit status checked here.
[[ -n ${LOYALTY_SANITIZED:-} ]] && export ASAN_OPTIONS=detect_leaks=0

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -m 700 "$tmp/run"
mkdir "$tmp/data" "$tmp/shots" "$tmp/out"  # out: the app's status and tap map under cage
export XDG_RUNTIME_DIR=$tmp/run
socket=kiosk-test-$$

# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local seconds=$1
  shift
  for ((i = 0; i < seconds * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

start_xvfb() {
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
  xvfb=$!
  pids+=("$xvfb")
  wait_for 30 test -s "$tmp/display" || fail "Xvfb did not start"
  display=":$(head -n1 "$tmp/display")"
}

# weston with the kiosk shell and the pixman renderer; extra arguments pick the backend.
start_weston() {
  weston --shell=kiosk-shell.so --use-pixman --socket="$socket" --width=1280 --height=800 \
    --log="$tmp/weston.log" "$@" 2>"$tmp/weston-stderr.log" &
  weston=$!
  pids+=("$weston")
  wait_for 30 test -S "$XDG_RUNTIME_DIR/$socket" || fail "weston did not start"
}

# True once the child process $1 has ended (a zombie until waited for).
ended() {
  local state
  state=$(ps -o stat= -p "$1") || return 0
  [[ $state == Z* ]]
}

has_child() {
  [[ -n $(ps -o pid= --ppid "$1") ]]
}

# Sets status to the app's exit status once it exits (up to 30 seconds), or to "running".
await_exit() {
  status=running
  wait_for 30 ended "$1" || return 0
  status=0
  wait "$1" || status=$?
}

app_env=(env -u DISPLAY -u WAYLAND_DISPLAY XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
app_args=(--data "$tmp/data" --lang zh-CN --tap-map "$tmp/taps")

case $mode in
  no-seat)
    start_weston --backend=headless-backend.so
    "${app_env[@]}" WAYLAND_DISPLAY="$socket" SDL_VIDEODRIVER=wayland "$bin" "${app_args[@]}" >"$tmp/app.log" 2>&1 &
    app=$!
    pids+=("$app")
    await_exit "$app"
    [[ $status == 3 ]] || fail "expected exit status 3 on a compositor without a seat, got $status"
    grep -q "has no input seat" "$tmp/app.log" || fail "the app did not say why it stopped"
    echo "no-seat: exit 3, $(grep -o 'the Wayland compositor.*' "$tmp/app.log")"
    ;;

  wayland)
    # weston's headless backend has no seat; its X11 backend on Xvfb has one (keyboard, pointer).
    start_xvfb
    DISPLAY=$display start_weston --backend=x11-backend.so --debug  # --debug: the screenshooter
    echo 1234 | "$bin" staff add --data "$tmp/data" --id 7 --name 李娜 >"$tmp/staff.log" 2>&1 || fail "staff add failed"
    # One screen: the customer display must not cover the full-screen counter.
    "${app_env[@]}" WAYLAND_DISPLAY="$socket" SDL_VIDEODRIVER=wayland "$bin" "${app_args[@]}" --customer-display \
      >"$tmp/app.log" 2>&1 &
    app=$!
    pids+=("$app")
    wait_for 90 test -s "$tmp/taps" || fail "the sign-in screen's buttons never appeared"
    text=
    for attempt in 1 2 3; do  # the first frames may land before the kiosk shell's full-screen size
      sleep 1
      rm -f "$tmp"/shots/*.png
      (cd "$tmp/shots" && WAYLAND_DISPLAY=$socket weston-screenshooter) >"$tmp/screenshooter.log" 2>&1 ||
        fail "weston-screenshooter failed"
      shot=$(ls "$tmp"/shots/*.png)
      mkdir -p "$shots"
      cp "$shot" "$shots/kiosk-wayland-signin.png"
      text=$(tesseract "$shot" - -l chi_sim+eng 2>/dev/null | tr -d ' \n')
      [[ $text == *会员收银台* && $text == *密码* ]] && break
    done
    [[ $text == *会员收银台* && $text == *密码* ]] ||
      fail "the screenshot does not show the sign-in screen (OCR: $text); see $shots/kiosk-wayland-signin.png"
    echo "wayland: sign-in screen OCR'd (attempt $attempt): $text"
    grep -q "no customer display" "$tmp/app.log" || fail "the app did not say why there is no customer display"
    # What weston shows in its X11 window, for people: weston-screenshooter's own picture has
    # speckled glyph edges (its pixman read-back), the screen itself does not.
    DISPLAY=$display import -window root "$shots/kiosk-wayland-signin-screen.png"

    # Sign in as a cashier would, through weston's seat (its X11 backend forwards the pointer).
    for key in 7 ok 1 2 3 4 ok; do
      wait_for 30 grep -q "^login-key-$key " "$tmp/taps" || fail "the keypad has no key $key"
      read -r x y w h < <(grep "^login-key-$key " "$tmp/taps" | cut -d' ' -f2-)
      DISPLAY=$display xdotool mousemove $((x + w / 2)) $((y + h / 2)) click 1
      sleep 0.2  # each press and release in its own frame, as a finger would
    done
    wait_for 30 grep -q "^lookup-number " "$tmp/taps" || fail "the taps did not sign in (no member lookup)"
    echo "wayland: signed in by taps through the compositor's seat"
    kill -9 "$weston"
    wait "$weston" 2>/dev/null || true
    await_exit "$app"
    [[ $status == 4 ]] || fail "expected exit status 4 after the compositor was killed, got $status"
    grep -q "compositor went away" "$tmp/app.log" || fail "the app did not say why it stopped"
    echo "wayland: compositor killed, the app exited 4"
    ;;

  x11)
    start_xvfb
    "${app_env[@]}" DISPLAY="$display" SDL_VIDEODRIVER=x11 "$bin" "${app_args[@]}" >"$tmp/app.log" 2>&1 &
    app=$!
    pids+=("$app")
    wait_for 90 test -s "$tmp/taps" || fail "the sign-in screen's buttons never appeared"
    kill -9 "$xvfb"
    wait "$xvfb" 2>/dev/null || true
    await_exit "$app"
    [[ $status != running && $status != 0 ]] || fail "expected a non-zero exit after the X server was killed, got $status"
    echo "x11: X server killed, the app exited $status"
    ;;

  cage)
    # cage refuses to run as root: as root, run it (and the app) as nobody in directories it owns.
    as=()
    if [[ $(id -u) == 0 ]]; then
      as=(runuser -u nobody --)
      chmod 755 "$tmp"
      chown -R nobody "$tmp/run" "$tmp/data" "$tmp/out"
      install -m 755 "$bin" "$tmp/loyalty-terminal"  # the build tree may be closed to nobody
      bin=$tmp/loyalty-terminal
    fi
    # Stopped in order (SIGTERM, as systemctl stop does) and crashed (SIGKILL).
    for signal in TERM KILL; do
      rm -f "$tmp/out/taps" "$tmp/out/app.status"
      # The shell around the app outlives a killed cage and records the app's exit status.
      "${as[@]}" env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" WLR_BACKENDS=headless WLR_RENDERER=pixman \
        WLR_LIBINPUT_NO_DEVICES=1 STATUS="$tmp/out/app.status" \
        cage -d -- sh -c 'SDL_VIDEODRIVER=wayland "$0" "$@"; echo $? >"$STATUS"' \
        "$bin" --data "$tmp/data" --lang zh-CN --tap-map "$tmp/out/taps" >"$tmp/cage.log" 2>&1 &
      pids+=($!)
      cage_pid=$!
      if [[ ${#as[@]} -gt 0 ]]; then  # runuser waits for its child, cage
        wait_for 30 has_child "$cage_pid" || fail "cage did not start"
        cage_pid=$(ps -o pid= --ppid "$cage_pid" | tr -d ' ')
        pids+=("$cage_pid")
      fi
      wait_for 90 test -s "$tmp/out/taps" || fail "the sign-in screen's buttons never appeared"
      kill -"$signal" "$cage_pid"
      wait_for 30 test -s "$tmp/out/app.status" || fail "the app still runs 30 s after cage got SIG$signal"
      status=$(cat "$tmp/out/app.status")
      [[ $status == 4 ]] || fail "expected exit status 4 after cage got SIG$signal, got $status"
      echo "cage: the app ran on Wayland; cage got SIG$signal, the app exited 4"
    done
    ;;

  unit)
    unit=$(cd "$(dirname "$0")/../../packaging/kiosk" && pwd)/loyalty-kiosk.service
    out=$(cd "$tmp" && systemd-analyze verify --man=no "$unit" 2>&1) || fail "systemd-analyze verify: $out"
    [[ -z $out ]] || fail "systemd-analyze verify complains: $out"
    for line in 'User=loyalty-terminal' 'TTYPath=/dev/tty1' 'Restart=always' 'Environment=SDL_VIDEODRIVER=wayland' \
      'ExecStart=/usr/bin/cage -d -- /usr/bin/loyalty-terminal '; do
      grep -q "^$line" "$unit" || fail "the unit lost its line $line"
    done
    echo "unit: verified"
    ;;
esac
