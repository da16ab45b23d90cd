"""ahnpl.shards"""
