"""ahnpl.evaluation"""
