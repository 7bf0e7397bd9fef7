from pipelines.batch import buckets_for

MB = 1 << 20


def test_bucket_count_follows_the_input_above_a_floor():
    assert buckets_for(0) == 2
    assert buckets_for(3 * MB) == 2  # a small night: few files per partition
    assert buckets_for(48 * MB * 3) == 3
    assert buckets_for(48 * MB * 3 + 1) == 4  # rounds up: no bucket above the size it was given
    assert buckets_for(1379 * MB) == 29  # the 10M-line benchmark
