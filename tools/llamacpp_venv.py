"""The venv the llama.cpp comparison scripts run in (tools/bench-vs-llamacpp, tools/correctness-vs-llamacpp).

llama-cpp-python is built from source (it compiles llama.cpp for this CPU), so its wheel is cached
and reused; numpy and gguf come from PyPI.
"""
import os
import subprocess
import sys


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def reexec_in_venv(venv, wheels, script):
    """Re-executes `script` with the venv's Python and `--in-venv` once llama_cpp, numpy and gguf
    import there, creating the venv and building the llama-cpp-python wheel first if needed."""
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        log(f"creating {venv}")
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    probe = subprocess.run([py, "-c", "import llama_cpp, numpy, gguf"], capture_output=True)
    if probe.returncode != 0:
        os.makedirs(wheels, exist_ok=True)
        have = [f for f in os.listdir(wheels) if f.startswith("llama_cpp_python")]
        if not have:
            log("building llama-cpp-python (compiles llama.cpp for this CPU; 5-20 minutes)")
            env = dict(os.environ, CMAKE_ARGS="-DGGML_NATIVE=ON")
            subprocess.check_call(["nice", py, "-m", "pip", "wheel", "--no-deps", "-w", wheels, "llama-cpp-python"], env=env)
        subprocess.check_call([py, "-m", "pip", "install", "-q", "--find-links", wheels, "llama-cpp-python", "numpy", "gguf"])
    script = os.path.abspath(script)
    os.execv(py, [py, script, "--in-venv"] + [a for a in sys.argv[1:] if a != "--in-venv"])
