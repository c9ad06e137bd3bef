"""The pool of texts, the settings and the start that the start-up tests share."""

N = 120
TEXTS = [f"{'eye' if i % 12 == 0 else 'other'} text number {i}" for i in range(N)]
SMALL = dict(batch_size=5, subpool_size=40, neighbours=10, store=None, map=False)


def started(session):
    events = []
    session.on_change(lambda changes: events.append(dict(changes)))
    session.start()
    session.events = events
    return session
