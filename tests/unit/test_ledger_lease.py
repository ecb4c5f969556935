"""The writer's lease keeper over a stand-in redis (no I/O): what counts as losing the lease."""

import time

import redis

from server.ledger.lease import LeaseKeeper


class FlakyRedis:
    """register_script gives the acquire-or-renew script: it answers `held` until told to fail."""

    def __init__(self):
        self.failing = False

    def register_script(self, _source):
        def script(keys, args):
            if self.failing:
                raise redis.ConnectionError("redis away")
            return [1, 7, args[0]]
        return script


def test_one_failed_renewal_is_no_loss_until_the_lease_runs_out():
    client, losses = FlakyRedis(), []
    keeper = LeaseKeeper(client, "p", seconds=0.5, on_loss=lambda: losses.append(time.monotonic()))
    keeper.tick()
    assert keeper.held() and keeper.epoch == 7
    client.failing = True
    keeper.tick()  # redis away for one renewal: still the writer (the worker keeps its role)
    assert keeper.held() and losses == [] and keeper.stats["lease_losses"] == 0
    time.sleep(0.5)  # past 0.9 of the lease since the last good renewal
    assert not keeper.held()
    keeper.tick()
    assert len(losses) == 1 and keeper.stats["lease_losses"] == 1
    client.failing = False
    keeper.tick()
    assert keeper.held() and keeper.stats["lease_gains"] == 2
