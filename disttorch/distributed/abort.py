"""One failing rank ends the whole job instead of leaving the others hung in a collective."""
from __future__ import annotations

import sys
import threading
import time

_installed = False


def install_abort_on_exception() -> None:
    """Make an uncaught exception on any rank print it, naming the rank, then ``MPI_Abort``."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = sys.excepthook
    previous_thread = threading.excepthook

    def abort(exc_type, exc, tb):
        from mpi4py import MPI

        if exc_type is KeyboardInterrupt or not MPI.Is_initialized() or MPI.Is_finalized():
            previous(exc_type, exc, tb)
            return
        world = MPI.COMM_WORLD
        rank, size = world.Get_rank(), world.Get_size()
        sys.stderr.write(f"[disttorch] rank {rank} of {size} raised an uncaught exception:\n")
        previous(exc_type, exc, tb)
        sys.stderr.write(f"[disttorch] rank {rank}: aborting the MPI job so no rank hangs\n")
        sys.stderr.flush()
        sys.stdout.flush()
        # mpiexec stops forwarding output once the abort reaches it: give what was just
        # written a moment to leave the pipe
        time.sleep(0.2)
        world.Abort(1)

    def abort_thread(args):
        if args.exc_type is SystemExit:
            previous_thread(args)
            return
        abort(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = abort
    threading.excepthook = abort_thread
