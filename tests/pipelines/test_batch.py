from pipelines.batch import buckets_for

MB = 1 << 20


def test_bucket_count_follows_the_input_above_one_per_local_worker():
    assert buckets_for(0) == 1
    assert buckets_for(3 * MB) == 1  # a small night: one file per partition, nothing to merge
    assert buckets_for(3 * MB, ["--direct_num_workers=2"]) == 2  # each worker gets a bucket
    assert buckets_for(3 * MB, ["--runner=FnApiRunner", "--direct_num_workers", "3"]) == 3
    assert buckets_for(48 * MB * 3) == 3
    assert buckets_for(48 * MB * 3 + 1) == 4  # rounds up: no bucket above the size it was given
    assert buckets_for(1379 * MB) == 29  # the 10M-line benchmark
