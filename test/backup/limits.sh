# limits: to do
