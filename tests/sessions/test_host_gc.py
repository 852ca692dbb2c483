"""The session host hides its start-up objects from the garbage collector before the node runs."""

import gc

from trading.sessions.host import freeze_startup_objects


def test_startup_objects_are_frozen_so_collections_only_walk_the_running_session() -> None:
    startup = [[] for _ in range(1000)]  # lists: objects the collector tracks
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(startup)
        walked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert not any(id(o) in walked for o in startup)
    finally:
        gc.unfreeze()
