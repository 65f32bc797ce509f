"""What the benchmark scripts share: waiting for a process while sampling its peak RSS."""
import time


def wait_sampling_peak_rss(proc, timeout_s=None, on_timeout=None):
    """Waits for `proc`, reading its VmHWM (the process's own peak RSS; wait4's ru_maxrss can
    include other processes) every 50 ms. Returns the peak in kB. After `timeout_s` calls
    `on_timeout()` (which must end the process or raise)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    hwm_kb = 0
    while proc.poll() is None:
        if deadline is not None and time.monotonic() > deadline:
            on_timeout()
            deadline = None
        try:
            with open(f"/proc/{proc.pid}/status") as st:
                for line in st:
                    if line.startswith("VmHWM:"):
                        hwm_kb = max(hwm_kb, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.05)
    return hwm_kb
