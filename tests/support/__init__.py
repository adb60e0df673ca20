"""Helpers shared by the unit and the engine tests (no fixtures: those live in conftest.py).

- ``cai``: running cai in this process or as its own, with one ``Result`` for both.
- ``files``: writing a fake home or workspace, trusting a project.
- ``engine``: what a real engine holds: a volume's content, the containers of a volume.
- ``tars``: tar and tgz archives built member by member.
- ``params``: tables of parametrised cases keyed by their test id.
- ``crash``, ``relay``: the harness of the crash, interrupt and engine-fault tests.
"""
