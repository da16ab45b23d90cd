"""ahnpl.trainer"""
