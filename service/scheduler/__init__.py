"""The scheduler inside ``intake serve``: it dispatches due calls to the worker within each
callee's calling window, paced per trunk and per campaign, and settles each dial's result
(retry, or the call's final payload)."""
